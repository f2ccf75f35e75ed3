"""The pharmacist's clinical check of a prescription: verify it, annotate it for the ward, query it
with the prescriber (who answers on the chart), or reject it with the reason. Each step is kept as a
review row and audited; the prescription's own verification state says where it stands."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from prescribing.models import (
    PharmacyAction,
    PharmacyReview,
    Prescription,
    PrescriptionStatus,
    Verification,
)
from records.errors import RecordError
from records.models.entries import history_note
from records.services.entries import lock_for_edit

_STATE_AFTER = {
    PharmacyAction.VERIFIED: Verification.VERIFIED,
    PharmacyAction.QUERIED: Verification.QUERIED,
    PharmacyAction.REJECTED: Verification.REJECTED,
    PharmacyAction.ANSWERED: Verification.AWAITING,  # back in the queue for the pharmacist
}
_NEEDS_TEXT = {
    PharmacyAction.ANNOTATED: "Write the annotation for the ward.",
    PharmacyAction.QUERIED: "Write the question for the prescriber.",
    PharmacyAction.REJECTED: "Give the reason the prescription is rejected.",
    PharmacyAction.ANSWERED: "Write your answer to the pharmacist's query.",
}


def _refusal(row: Prescription, action: str) -> str:
    if row.status != PrescriptionStatus.ACTIVE:
        return "This prescription is no longer active: there is nothing to review."
    if row.verification == Verification.REJECTED:
        return "This prescription was rejected; the prescriber must stop it and write a new one."
    if action == PharmacyAction.VERIFIED and row.verification == Verification.VERIFIED:
        return "This prescription is already verified."
    if action == PharmacyAction.ANSWERED and row.verification != Verification.QUERIED:
        return "There is no open query on this prescription to answer."
    return ""


@transaction.atomic
def prescription_review(
    *,
    by: Any,
    prescription: Prescription,
    action: str,
    text: str = "",
    expected_version: int | None = None,
) -> PharmacyReview:
    """One review step (verify, annotate, query, answer a query, reject), from the version seen."""
    text = text.strip()
    if action in _NEEDS_TEXT and not text:
        raise RecordError(_NEEDS_TEXT[PharmacyAction(action)], field="text")
    locked = lock_for_edit(
        prescription, expected_version, noun="prescription", refuse=lambda row: _refusal(row, action)
    )
    now = timezone.now()
    if action in _STATE_AFTER:
        locked.verification = _STATE_AFTER[PharmacyAction(action)]
        if action == PharmacyAction.VERIFIED:
            locked.verified_by, locked.verified_at = by, now
        locked.version += 1
        history_note(locked, reason=f"Pharmacy: {PharmacyAction(action).label}", user=by)
        locked.save()
    review = PharmacyReview.objects.create(prescription=locked, action=action, text=text, by=by, at=now)
    audit_record(
        user=by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"pharmacy": action}
    )
    return review
