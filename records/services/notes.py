"""Clinical notes: started as a draft, signed, countersigned where the author's role needs it, amended
with a reason, or marked entered-in-error; never deleted. Every change is audited and versioned."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError, StaleEdit
from records.models import ClinicalNote, Encounter, FieldKind, NoteStatus, NoteTemplate, Patient
from records.models.entries import history_note
from records.services.entries import lock_for_edit
from records.services.patients import patient_require_writable

TEXT_LIMITS = {FieldKind.TEXT: 500, FieldKind.TEXTAREA: 10_000}
FREE_TEXT_LIMIT = 20_000


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError
    return int(number) if number == number.to_integral_value() else float(number)


def _date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value).strip()).isoformat()


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    answer = str(value).strip().lower()
    if answer not in ("yes", "no"):
        raise ValueError
    return answer == "yes"


def note_values_clean(fields: list[dict], values: dict[str, Any], *, require: bool) -> dict[str, Any]:
    """Check values against the template's field definitions; empty values are left out.

    With require=True (signing), every required field must have a value. Errors name the field.
    """
    by_key = {f["key"]: f for f in fields}
    unknown = set(values) - set(by_key)
    if unknown:
        raise RecordError(f"This note's template has no field called {', '.join(sorted(unknown))}.")
    cleaned: dict[str, Any] = {}
    for field in fields:
        key, label, kind = field["key"], field["label"], field["kind"]
        value = values.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if require and field.get("required"):
                raise RecordError(f"Enter {label}: it is needed to sign this note.", field=key)
            continue
        try:
            if kind in TEXT_LIMITS:
                if not isinstance(value, str):
                    raise ValueError
                if len(value) > TEXT_LIMITS[kind]:
                    raise RecordError(f"{label} must be {TEXT_LIMITS[kind]} characters or fewer.", field=key)
            elif kind == FieldKind.NUMBER:
                value = _number(value)
            elif kind == FieldKind.CHOICE:
                if value not in field["choices"]:
                    raise RecordError(f"Choose {label} from the list.", field=key)
            elif kind == FieldKind.YES_NO:
                value = _yes_no(value)
            elif kind == FieldKind.DATE:
                value = _date(value)
        except (ValueError, TypeError, InvalidOperation) as exc:
            expected = {
                FieldKind.NUMBER: "a number",
                FieldKind.YES_NO: "yes or no",
                FieldKind.DATE: "a date",
            }.get(kind, "text")
            raise RecordError(f"{label} must be {expected}.", field=key) from exc
        if isinstance(value, float) and not math.isfinite(value):
            raise RecordError(f"{label} must be a number.", field=key)
        cleaned[key] = value
    return cleaned


def _free_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) > FREE_TEXT_LIMIT:
        raise RecordError(f"The note text must be {FREE_TEXT_LIMIT} characters or fewer.", field="free_text")
    return text


def _title(title: str | None, default: str) -> str:
    title = " ".join((title or "").split())[:200]
    return title or default


def _reason(reason: str, what: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise RecordError(f"Give the reason {what}; it is shown with the note.", field="reason")
    return reason


def _lock(note: ClinicalNote, expected_version: int | None) -> ClinicalNote:
    return lock_for_edit(
        note, expected_version, noun="note", queryset=ClinicalNote.objects.select_related("template")
    )


def _lock_draft(note: ClinicalNote, user, expected_version: int) -> ClinicalNote:
    locked = _lock(note, None)
    if locked.author_id != user.pk:
        raise RecordError("Only the author can change or sign a draft note.")
    if locked.status != NoteStatus.DRAFT:
        raise RecordError("This note is already signed; amend it instead.")
    if locked.version != expected_version:
        raise StaleEdit()  # checked after the author and state, so their messages come first
    return locked


def _save(note: ClinicalNote, user, why: str, *, action: str = Action.UPDATE, **detail: Any) -> None:
    note.version += 1
    history_note(note, reason=why, user=user)
    note.save()
    audit_record(user=user, action=action, patient_id=note.patient_id, obj=note, detail=detail)


def _apply(note: ClinicalNote, values, free_text, title) -> None:
    if values is not None:
        note.values = note_values_clean(note.fields, values, require=False)
    if free_text is not None:
        note.free_text = _free_text(free_text)
    if title is not None:
        note.title = _title(title, note.template.name)


def _sign(note: ClinicalNote, user) -> None:
    note.values = note_values_clean(note.fields, note.values, require=True)
    if not note.values and not note.free_text:
        raise RecordError("An empty note cannot be signed.", field="free_text")
    note.countersign_required = note.template.needs_countersignature(user)
    note.status = NoteStatus.AWAITING_COUNTERSIGNATURE if note.countersign_required else NoteStatus.SIGNED
    note.signed_at = timezone.now()
    _save(note, user, "Signed", status=note.status)


@transaction.atomic
def note_start(
    *,
    author,
    patient: Patient,
    template: NoteTemplate,
    encounter: Encounter | None = None,
    title: str = "",
    values: dict[str, Any] | None = None,
    free_text: str = "",
    sign: bool = False,
) -> ClinicalNote:
    """Start a draft from a template (sign=True signs it at once, all or nothing)."""
    patient_require_writable(patient)
    if not template.active:
        raise RecordError("This template is no longer in use; choose another.")
    if not template.may_write(author):
        raise RecordError(f"Your role may not write {template.name} notes.")
    if encounter is not None and encounter.patient_id != patient.pk:
        raise RecordError("That admission belongs to another patient.")
    note = ClinicalNote(
        patient=patient,
        encounter=encounter,
        template=template,
        template_version=template.version,
        fields=template.fields,
        note_type=template.note_type,
        title=_title(title, template.name),
        values=note_values_clean(template.fields, values or {}, require=False),
        free_text=_free_text(free_text),
        author=author,
        created_at=timezone.now(),
    )
    history_note(note, reason="Draft started", user=author)
    note.save()
    audit_record(user=author, action=Action.CREATE, patient_id=patient.pk, obj=note)
    if sign:
        _sign(note, author)
    return note


@transaction.atomic
def note_save_draft(
    *,
    saved_by,
    note: ClinicalNote,
    expected_version: int,
    values: dict[str, Any],
    free_text: str,
    title: str | None = None,
) -> ClinicalNote:
    locked = _lock_draft(note, saved_by, expected_version)
    _apply(locked, values, free_text, title)
    _save(locked, saved_by, "Draft saved")
    return locked


@transaction.atomic
def note_sign(
    *,
    signed_by,
    note: ClinicalNote,
    expected_version: int,
    values: dict[str, Any] | None = None,
    free_text: str | None = None,
    title: str | None = None,
) -> ClinicalNote:
    """Sign the author's draft, saving any last changes with it; refused if a required field is empty."""
    locked = _lock_draft(note, signed_by, expected_version)
    _apply(locked, values, free_text, title)
    _sign(locked, signed_by)
    return locked


@transaction.atomic
def note_countersign(*, countersigned_by, note: ClinicalNote, expected_version: int) -> ClinicalNote:
    locked = _lock(note, expected_version)
    if locked.status != NoteStatus.AWAITING_COUNTERSIGNATURE:
        raise RecordError("This note is not awaiting countersignature.")
    if locked.author_id == countersigned_by.pk:
        raise RecordError("You cannot countersign your own note.")
    locked.status = NoteStatus.COUNTERSIGNED
    locked.countersigned_by = countersigned_by
    locked.countersigned_at = timezone.now()
    _save(locked, countersigned_by, "Countersigned", status=locked.status)
    return locked


@transaction.atomic
def note_amend(
    *,
    amended_by,
    note: ClinicalNote,
    expected_version: int,
    values: dict[str, Any],
    free_text: str,
    reason: str,
    title: str | None = None,
) -> ClinicalNote:
    """Amend a signed note; the earlier version stays in its history and the reason is shown."""
    reason = _reason(reason, "for the amendment")
    locked = _lock(note, expected_version)
    if not locked.is_signed:
        raise RecordError("Only a signed note can be amended; a draft is edited by its author.")
    if not locked.may_amend(amended_by):
        raise RecordError("Only the author or a doctor can amend this note.")
    before = (locked.values, locked.free_text, locked.title)
    _apply(locked, values, free_text, title)
    locked.values = note_values_clean(locked.fields, locked.values, require=True)
    if not locked.values and not locked.free_text:
        raise RecordError("An empty note cannot be signed.", field="free_text")
    if (locked.values, locked.free_text, locked.title) == before:
        raise RecordError("Nothing was changed.")
    if locked.template.needs_countersignature(amended_by):
        locked.countersign_required = True
        locked.status = NoteStatus.AWAITING_COUNTERSIGNATURE
        locked.countersigned_by = None
        locked.countersigned_at = None
    locked.amended_by = amended_by
    locked.amended_at = timezone.now()
    locked.amendment_reason = reason
    _save(locked, amended_by, f"Amended: {reason}", reason=reason)
    return locked


@transaction.atomic
def note_mark_error(*, marked_by, note: ClinicalNote, reason: str) -> ClinicalNote:
    """Strike a note through with a reason; it stays on the record. A draft only by its author."""
    reason = _reason(reason, "the note was made in error")
    locked = _lock(note, None)
    allowed = (
        locked.author_id == marked_by.pk if locked.status == NoteStatus.DRAFT else locked.may_amend(marked_by)
    )
    if not allowed:
        raise RecordError("Only the author or a doctor can mark this note as entered in error.")
    locked.status = NoteStatus.ENTERED_IN_ERROR
    locked.error_reason = reason
    _save(locked, marked_by, f"Entered in error: {reason}", status=locked.status)
    return locked
