"""Patient flow on the ward: the expected date of discharge the team works towards."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import Encounter, EncounterStatus
from records.models.entries import history_note
from records.services.entries import lock_for_edit


@transaction.atomic
def encounter_set_expected_discharge(
    *, set_by, encounter: Encounter, expected: date | None, expected_version: int
) -> Encounter:
    locked = lock_for_edit(
        encounter,
        expected_version,
        refuse=lambda e: "" if e.status == EncounterStatus.ACTIVE else "The patient has been discharged.",
    )
    if expected is not None and expected < timezone.localdate():
        raise RecordError("The expected discharge date must be today or in the future", field="expected")
    if expected is not None and expected < timezone.localtime(locked.admitted_at).date():
        raise RecordError("The expected discharge date cannot be before admission", field="expected")
    locked.expected_discharge_date = expected
    locked.version += 1
    history_note(locked, reason="Expected discharge date")
    locked.save(update_fields=["expected_discharge_date", "version"])
    audit_record(
        user=set_by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"field": "edd"}
    )
    return locked
