"""Allergies and problems: recorded, amended with a reason, or marked entered-in-error; never deleted."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.terminology.models import CodeSystem
from epr.terminology.selectors import concept, icd10_for_snomed
from records import signals
from records.errors import RecordError
from records.models import (
    AllergyIntolerance,
    AllergyKind,
    ClinicalStatus,
    EntryStatus,
    Patient,
    Problem,
    ProblemStatus,
)
from records.models.entries import history_note
from records.services.entries import lock_for_edit, strike_through
from records.services.patients import patient_require_writable

ALLERGY_FIELDS = (
    "category",
    "reaction",
    "severity",
    "criticality",
    "verification",
    "clinical_status",
    "note",
)
PROBLEM_FIELDS = ("clinical_status", "verification", "onset_date", "resolved_date", "note")


def _snomed(code: str, *, field: str) -> str:
    found = concept(CodeSystem.SNOMED, code)
    if found is None:
        raise RecordError(f"SNOMED CT code {code} is not in the terminology server.", field=field)
    return found.display


def _active_allergies(patient: Patient):
    return AllergyIntolerance.objects.filter(
        patient=patient, status=EntryStatus.FINAL, clinical_status=ClinicalStatus.ACTIVE
    )


@transaction.atomic
def allergy_record(
    *,
    recorded_by,
    patient: Patient,
    substance_code: str = "",
    substance_text: str = "",
    kind: str = AllergyKind.ALLERGY,
    **details: Any,
) -> AllergyIntolerance:
    patient_require_writable(patient)
    unknown = set(details) - set(ALLERGY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown allergy fields: {sorted(unknown)}")
    Patient.objects.select_for_update().get(pk=patient.pk)  # one allergy list change at a time
    substance_text = " ".join(substance_text.split())
    if not substance_code and not substance_text:
        raise RecordError(
            "Choose the substance, or type it if it is not in the list.", field="substance_text"
        )
    display = _snomed(substance_code, field="substance_code") if substance_code else ""
    same = _active_allergies(patient).exclude(kind=AllergyKind.NO_KNOWN_ALLERGY)
    same = (
        same.filter(substance_code=substance_code)
        if substance_code
        else same.filter(substance_text__iexact=substance_text)
    )
    if same.exists():
        raise RecordError("This allergy is already recorded. Amend it instead.", field="substance_code")
    for nka in _active_allergies(patient).filter(kind=AllergyKind.NO_KNOWN_ALLERGY):
        nka.clinical_status = ClinicalStatus.INACTIVE
        nka.version += 1
        history_note(nka, reason="Superseded by a recorded allergy")
        nka.save()
    allergy = AllergyIntolerance.objects.create(
        patient=patient,
        kind=kind,
        substance_code=substance_code,
        substance_display=display,
        substance_text=substance_text,
        recorded_by=recorded_by,
        recorded_at=timezone.now(),
        **details,
    )
    audit_record(user=recorded_by, action=Action.CREATE, patient_id=patient.pk, obj=allergy)
    # Apps holding what an allergy affects (prescriptions already written) check again after commit.
    transaction.on_commit(lambda: signals.allergy_recorded.send(sender=AllergyIntolerance, allergy=allergy))
    return allergy


@transaction.atomic
def allergy_record_none_known(*, recorded_by, patient: Patient) -> AllergyIntolerance:
    patient_require_writable(patient)
    Patient.objects.select_for_update().get(pk=patient.pk)
    active = _active_allergies(patient)
    if active.exclude(kind=AllergyKind.NO_KNOWN_ALLERGY).exists():
        raise RecordError("The patient has active allergies recorded; mark them inactive or in error first.")
    if active.filter(kind=AllergyKind.NO_KNOWN_ALLERGY).exists():
        raise RecordError("No known allergies is already recorded.")
    allergy = AllergyIntolerance.objects.create(
        patient=patient,
        kind=AllergyKind.NO_KNOWN_ALLERGY,
        substance_code="716186003",
        substance_display="No known allergy",
        recorded_by=recorded_by,
        recorded_at=timezone.now(),
    )
    audit_record(user=recorded_by, action=Action.CREATE, patient_id=patient.pk, obj=allergy)
    return allergy


def _require_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise RecordError(
            "Give the reason for the change; it is shown in the entry's history.", field="reason"
        )
    return reason


@transaction.atomic
def entry_amend(*, amended_by, entry, expected_version: int, changes: dict[str, Any], reason: str):
    """Amend an allergy or problem; the reason and the old version are kept in its history."""
    allowed = ALLERGY_FIELDS if isinstance(entry, AllergyIntolerance) else PROBLEM_FIELDS
    unknown = set(changes) - set(allowed)
    if unknown:
        raise TypeError(f"Fields that cannot be amended: {sorted(unknown)}")
    reason = _require_reason(reason)
    locked = lock_for_edit(entry, expected_version)
    changed = [f for f, v in changes.items() if getattr(locked, f) != v]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, changes[field])
    if isinstance(locked, Problem):
        _check_problem_dates(locked.onset_date, locked.resolved_date)
    locked.version += 1
    history_note(locked, reason=reason)
    locked.save()
    audit_record(
        user=amended_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"fields": changed},
    )
    return locked


def entry_mark_error(
    *, marked_by, entry: AllergyIntolerance | Problem, reason: str, expected_version: int | None = None
) -> AllergyIntolerance | Problem:
    return strike_through(entry=entry, marked_by=marked_by, reason=reason, expected_version=expected_version)


def _check_problem_dates(onset: date | None, resolved: date | None) -> None:
    today = timezone.localdate()
    if onset and onset > today:
        raise RecordError("The onset date cannot be in the future.", field="onset_date")
    if resolved and resolved > today:
        raise RecordError("The resolution date cannot be in the future.", field="resolved_date")
    if onset and resolved and resolved < onset:
        raise RecordError("The resolution date must be on or after the onset date.", field="resolved_date")


@transaction.atomic
def problem_record(
    *,
    recorded_by,
    patient: Patient,
    snomed_code: str,
    clinical_status: str = ProblemStatus.ACTIVE,
    verification: str = "confirmed",
    onset_date: date | None = None,
    resolved_date: date | None = None,
    note: str = "",
    encounter=None,
) -> Problem:
    patient_require_writable(patient)
    display = _snomed(snomed_code, field="snomed_code")
    _check_problem_dates(onset_date, resolved_date)
    if resolved_date and clinical_status == ProblemStatus.ACTIVE:
        clinical_status = ProblemStatus.RESOLVED
    icd10 = icd10_for_snomed(snomed_code)
    problem = Problem.objects.create(
        patient=patient,
        encounter=encounter,
        snomed_code=snomed_code,
        snomed_display=display,
        icd10_code=icd10.code if icd10 else "",
        icd10_display=icd10.display if icd10 else "",
        clinical_status=clinical_status,
        verification=verification,
        onset_date=onset_date,
        resolved_date=resolved_date,
        note=note.strip(),
        recorded_by=recorded_by,
        recorded_at=timezone.now(),
    )
    audit_record(user=recorded_by, action=Action.CREATE, patient_id=patient.pk, obj=problem)
    return problem
