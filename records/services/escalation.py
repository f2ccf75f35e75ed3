"""Resuscitation and treatment escalation decisions: each decision a new entry (the newest is current);
a mistaken one is struck through with a reason, never deleted."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import (
    CPRDecision,
    Encounter,
    EncounterStatus,
    EscalationLevel,
    Patient,
    TreatmentEscalationPlan,
)
from records.services.entries import strike_through
from records.services.patients import patient_require_writable


@transaction.atomic
def escalation_plan_record(
    *,
    recorded_by,
    patient: Patient,
    cpr_decision: str,
    escalation_level: str,
    decided_by: str,
    discussed_with: str,
    note: str = "",
    review_date: date | None = None,
) -> TreatmentEscalationPlan:
    patient_require_writable(patient)
    errors = {}
    if cpr_decision not in CPRDecision.values:
        errors["cpr_decision"] = "Select the CPR decision"
    if escalation_level not in EscalationLevel.values:
        errors["escalation_level"] = "Select the level of treatment escalation"
    if not decided_by.strip():
        errors["decided_by"] = "Enter the senior clinician responsible for the decision"
    if not discussed_with.strip():
        errors["discussed_with"] = "Enter who the decision was discussed with"
    if review_date is not None and review_date < timezone.localdate():
        errors["review_date"] = "The review date must be today or in the future"
    if errors:
        raise RecordError(next(iter(errors.values())), field=next(iter(errors)), errors=errors)
    plan = TreatmentEscalationPlan.objects.create(
        patient=patient,
        encounter=Encounter.objects.filter(patient=patient, status=EncounterStatus.ACTIVE).first(),
        cpr_decision=cpr_decision,
        escalation_level=escalation_level,
        decided_by=decided_by.strip(),
        discussed_with=discussed_with.strip(),
        note=note.strip(),
        review_date=review_date,
        recorded_by=recorded_by,
        recorded_at=timezone.now(),
    )
    audit_record(
        user=recorded_by,
        action=Action.CREATE,
        patient_id=patient.pk,
        obj=plan,
        detail={"cpr": cpr_decision, "escalation": escalation_level},
    )
    return plan


def escalation_plan_mark_error(
    *, marked_by, plan: TreatmentEscalationPlan, reason: str, expected_version: int | None = None
) -> TreatmentEscalationPlan:
    return strike_through(entry=plan, marked_by=marked_by, reason=reason, expected_version=expected_version)
