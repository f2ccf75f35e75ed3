"""The sections of clinical documents (a discharge summary, an outpatient clinic letter). Each app
registers the sections it can prefill from its own data from its wiring.py: records its allergies and
diagnoses, prescribing the medicines on discharge, orders the investigation results, mentalhealth the
legal information. The app that writes the document (scheduling) reads them from here and never
imports the others. The clinician edits the prefilled text before signing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from records.models import Encounter, Patient

DISCHARGE_SUMMARY = "discharge-summary"
CLINIC_LETTER = "clinic-letter"
DOCUMENTS = frozenset({DISCHARGE_SUMMARY, CLINIC_LETTER})


@dataclass(frozen=True)
class DocumentContext:
    """What a section prefills from: the patient, the admission or attendance, who is writing."""

    patient: Patient
    encounter: Encounter | None
    author: Any


@dataclass(frozen=True)
class SectionDraft:
    """A section as prefilled: one line per entry, and whether the record held anything for it (a
    section with nothing recorded says so in words, not by being blank)."""

    lines: tuple[str, ...]
    recorded: bool = True

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class DocumentSection:
    key: str  # "allergies"
    heading: str  # the PRSB heading the section prints under
    documents: frozenset[str]  # which documents carry it
    prefill: Callable[[DocumentContext], SectionDraft]
    order: int = 100  # the heading's place in the document
    mandatory: bool = False  # the document cannot be signed with it empty


_sections: dict[str, DocumentSection] = {}
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def register_document_section(section: DocumentSection) -> None:
    if not _KEY.match(section.key):
        raise ValueError(f"Document section {section.key!r}: use lower-case letters, digits and hyphens.")
    if not section.documents or not section.documents <= DOCUMENTS:
        raise ValueError(f"Document section {section.key!r}: documents must be some of {sorted(DOCUMENTS)}.")
    existing = _sections.get(section.key)
    if existing is not None and existing != section:
        raise ValueError(f"Document section {section.key!r} is already registered.")
    _sections[section.key] = section


def document_sections(document: str) -> list[DocumentSection]:
    """The sections of one kind of document, in the order they print."""
    if document not in DOCUMENTS:
        raise LookupError(f"No document {document!r}.")
    return sorted((s for s in _sections.values() if document in s.documents), key=lambda s: (s.order, s.key))


def prefill(document: str, context: DocumentContext) -> dict[str, SectionDraft]:
    """Every section of the document prefilled for this patient, by key, in print order."""
    return {section.key: section.prefill(context) for section in document_sections(document)}
