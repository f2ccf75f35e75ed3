"""Discharge summaries and clinic letters: started (one discharge summary per admission, one letter per
attendance) with every heading prefilled (scheduling.selectors.documents: records' document-section
registry and the admission or attendance itself); saved as a draft (version-checked, each save in
history); signed once, which locks the text, freezes the patient's demographics, GP practice and the
person completing it into the document, and queues its deliveries (scheduling.services.delivery).
Amending a signed document is not built: a wrong one is marked entered in error and a new one written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import Encounter
from records.services.entries import lock_for_edit
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    ClinicalDocument,
    DocumentKind,
    DocumentStatus,
)
from scheduling.selectors.documents import (
    DEMOGRAPHICS,
    GP_PRACTICE,
    MAX_SECTION,
    NOT_YET_DISCHARGED,
    PERSON_COMPLETING,
    demographics_text,
    discharge_details,
    editable_headings,
    gp_practice_text,
    person_completing_text,
    prefilled,
)


def _start(document: ClinicalDocument) -> ClinicalDocument:
    document.sections = prefilled(document)
    document.save()
    audit_record(
        user=document.author,
        action=Action.CREATE,
        patient_id=document.patient_id,
        obj=document,
        detail={"document": document.kind},
    )
    return document


def discharge_summary_start(
    *, encounter: Encounter, author: Any, now: datetime | None = None
) -> ClinicalDocument:
    """The admission's discharge summary: the one already started, or a new draft prefilled from the
    record. Two doctors starting it at once get the same one (the unique constraint decides)."""
    existing = _summary_of(encounter)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _start(
                ClinicalDocument(
                    patient=encounter.patient,
                    kind=DocumentKind.DISCHARGE_SUMMARY,
                    encounter=encounter,
                    author=author,
                    created_at=now or timezone.now(),
                )
            )
    except IntegrityError:
        found = _summary_of(encounter)
        if found is None:
            raise
        return found


def _summary_of(encounter: Encounter) -> ClinicalDocument | None:
    return (
        ClinicalDocument.objects.filter(encounter=encounter, kind=DocumentKind.DISCHARGE_SUMMARY)
        .exclude(status=DocumentStatus.ENTERED_IN_ERROR)
        .first()
    )


@transaction.atomic
def clinic_letter_start(
    *, appointment: Appointment, author: Any, now: datetime | None = None
) -> ClinicalDocument:
    """The attendance's clinic letter: the one already started, or a new draft. Only after the patient
    was seen; the appointment's row lock keeps two clinicians from starting two letters."""
    locked = (
        Appointment.objects.select_for_update().select_related("slot__session__clinic").get(pk=appointment.pk)
    )
    if locked.status != AppointmentStatus.SEEN:
        raise RecordError("A clinic letter is written after the patient has been seen in clinic.")
    existing = locked.documents.exclude(status=DocumentStatus.ENTERED_IN_ERROR).first()
    if existing is not None:
        return existing
    return _start(
        ClinicalDocument(
            patient=locked.patient,
            kind=DocumentKind.CLINIC_LETTER,
            appointment=locked,
            author=author,
            created_at=now or timezone.now(),
        )
    )


def _refuse_signed(document: ClinicalDocument) -> str:
    if document.status == DocumentStatus.SIGNED:
        who = document.signed_by.get_full_name() if document.signed_by else "someone"
        return f"This {document.get_kind_display().lower()} was signed by {who} and can no longer be changed."
    return ""


def _lock(document: ClinicalDocument, version: int) -> ClinicalDocument:
    return lock_for_edit(
        document,
        version,
        noun="document",
        refuse=_refuse_signed,
        queryset=ClinicalDocument.objects.select_related("patient"),
    )


def _clean_texts(kind: str, texts: dict[str, str]) -> dict[str, str]:
    known = {h.key for h in editable_headings(kind)}
    errors = {key: "This section is too long." for key, text in texts.items() if len(text) > MAX_SECTION}
    if errors:
        raise RecordError("A section is too long to keep.", errors=errors)
    # Only the headings this document has; the rest of what was posted is ignored.
    return {key: text.replace("\r\n", "\n").strip() for key, text in texts.items() if key in known}


@transaction.atomic
def document_save(
    *, document: ClinicalDocument, texts: dict[str, str], version: int, saved_by: Any
) -> ClinicalDocument:
    """Save the draft: the sections given replace theirs, the others are kept as they were."""
    locked = _lock(document, version)
    changed = {k: v for k, v in _clean_texts(locked.kind, texts).items() if locked.sections.get(k) != v}
    if changed:
        locked.sections = {**locked.sections, **changed}
        locked.version += 1
        locked.save(update_fields=["sections", "version"])
        audit_record(
            user=saved_by,
            action=Action.UPDATE,
            patient_id=locked.patient_id,
            obj=locked,
            detail={"document": locked.kind, "sections": sorted(changed)},
        )
    return locked


def _missing(document: ClinicalDocument) -> dict[str, str]:
    patient = document.patient
    missing = {
        h.key: f"Complete “{h.heading}”: it is required before signing."
        for h in editable_headings(document.kind)
        if h.mandatory and not (document.sections.get(h.key) or "").strip()
    }
    if not patient.family_name or not (patient.nhs_number or patient.hospital_number):
        missing[DEMOGRAPHICS] = "The patient's name and NHS or hospital number are needed before signing."
    return missing


@transaction.atomic
def document_sign(
    *, document: ClinicalDocument, version: int, signed_by: Any, now: datetime | None = None
) -> ClinicalDocument:
    """Sign the document as it stands: refused if a mandatory heading is empty, if it changed since the
    signer opened it, or if it is signed already (two signs at once: the row lock lets one through)."""
    from scheduling.services.delivery import deliveries_queue  # the delivery service builds on this one

    locked = _lock(document, version)
    missing = _missing(locked)
    if missing:
        raise RecordError(
            "This document cannot be signed yet: complete the required sections.", errors=missing
        )
    now = now or timezone.now()
    locked.sections = {
        **locked.sections,
        DEMOGRAPHICS: demographics_text(locked),
        GP_PRACTICE: gp_practice_text(locked),
        PERSON_COMPLETING: person_completing_text(signed_by, now),
    }
    locked.status = DocumentStatus.SIGNED
    locked.signed_by, locked.signed_at = signed_by, now
    locked.version += 1
    locked.save(update_fields=["sections", "status", "signed_by", "signed_at", "version"])
    audit_record(
        user=signed_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"document": locked.kind, "signed": True},
    )
    deliveries_queue(document=locked, now=now)
    return locked


def start_on_discharge(sender: Any, encounter: Encounter, **kwargs: Any) -> None:
    """records' patient_discharged: the draft is waiting for the doctor when they open the record."""
    author = encounter.discharged_by or encounter.consultant
    document = discharge_summary_start(encounter=encounter, author=author)
    # A draft begun before the discharge said "Not yet discharged": it now says when and where to.
    current = document.sections.get("discharge-details", "")
    if document.status == DocumentStatus.DRAFT and current.startswith(NOT_YET_DISCHARGED):
        document.encounter = encounter  # as discharged, not as the draft first read it
        details = discharge_details(document)
        document_save(
            document=document, texts={"discharge-details": details}, version=document.version, saved_by=author
        )
