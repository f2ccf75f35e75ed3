"""Reads of clinical notes. Drafts are seen only by their author."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from records.models import ClinicalNote, NoteTemplate, Patient, note_rows
from records.selectors.history import with_previous


def notes_of(user, patient: Patient, *, note_type: str = "") -> QuerySet[ClinicalNote]:
    """Signed notes (entered-in-error ones too, shown struck through) and the user's own drafts.

    A note never signed (a draft, or a discarded draft) is seen only by its author.
    """
    notes = ClinicalNote.objects.filter(patient=patient).filter(Q(signed_at__isnull=False) | Q(author=user))
    if note_type:
        notes = notes.filter(note_type=note_type)
    return notes.select_related("author", "countersigned_by", "amended_by").order_by(
        F("signed_at").desc(nulls_first=True), "-created_at", "-pk"
    )


def note_of(user, patient: Patient, note_id: int) -> ClinicalNote | None:
    note = (
        ClinicalNote.objects.select_related("template", "author", "countersigned_by", "amended_by")
        .filter(pk=note_id, patient=patient)
        .first()
    )
    return note if note is not None and note.may_see(user) else None


def templates_for(user) -> list[NoteTemplate]:
    return [t for t in NoteTemplate.objects.filter(active=True) if t.may_write(user)]


@dataclass(frozen=True)
class NoteVersion:
    record: Any  # the historical row
    rows: list[tuple[str, str]]
    changed: list[str]
    why: str


def _changed(older, newer) -> list[str]:
    """Labels of what the newer version changed in the note's content."""
    changed = [f["label"] for f in newer.fields if older.values.get(f["key"]) != newer.values.get(f["key"])]
    if older.free_text != newer.free_text:
        changed.append("Notes")
    if older.title != newer.title:
        changed.append("Title")
    return changed


def _why(version) -> str:
    """The change reason in full (the history column holds 100 characters)."""
    reason = version.history_change_reason or ""
    if reason.startswith("Amended:"):
        return f"Amended: {version.amendment_reason}"
    if reason.startswith("Entered in error:"):
        return f"Entered in error: {version.error_reason}"
    return reason


def note_versions(user, note: ClinicalNote) -> list[NoteVersion]:
    """Every saved version, newest first: who, when, why and what it said. Drafts only for the author."""
    history = note.history.select_related("history_user").order_by("-history_date", "-history_id")
    if note.author_id != user.pk:
        history = history.exclude(signed_at__isnull=True)
    records = list(history)
    versions = []
    for newer, older in with_previous(records):
        changed = _changed(older, newer) if older else []
        versions.append(NoteVersion(newer, note_rows(newer.fields, newer.values), changed, _why(newer)))
    return versions
