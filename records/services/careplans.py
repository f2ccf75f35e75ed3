"""Care plans: created, edited with a version check, reviewed, completed or marked entered-in-error."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import CarePlan, CarePlanReview, CarePlanStatus, Patient
from records.models.entries import history_note
from records.services.entries import lock_for_edit, strike_through
from records.services.patients import patient_require_writable

CAREPLAN_FIELDS = ("need", "problem", "goals", "interventions", "responsible", "team", "review_date")


def _check(values: dict[str, Any], patient: Patient) -> None:
    for field, label in (
        ("need", "the problem or need"),
        ("goals", "at least one goal"),
        ("interventions", "at least one intervention"),
    ):
        if field in values and not str(values[field] or "").strip():
            raise RecordError(f"Enter {label}.", field=field)
    review = values.get("review_date")
    if review is not None and review < timezone.localdate():
        raise RecordError("The review date must be today or later.", field="review_date")
    problem = values.get("problem")
    if problem is not None and problem.patient_id != patient.pk:
        raise RecordError("That problem belongs to another patient.", field="problem")


@transaction.atomic
def careplan_create(*, created_by, patient: Patient, **values: Any) -> CarePlan:
    patient_require_writable(patient)
    unknown = set(values) - set(CAREPLAN_FIELDS)
    if unknown:
        raise TypeError(f"Unknown care plan fields: {sorted(unknown)}")
    _check({"need": "", "goals": "", "interventions": "", **values}, patient)
    plan = CarePlan.objects.create(
        patient=patient, created_by=created_by, created_at=timezone.now(), **values
    )
    audit_record(user=created_by, action=Action.CREATE, patient_id=patient.pk, obj=plan)
    return plan


def _lock_active(plan: CarePlan, expected_version: int | None) -> CarePlan:
    return lock_for_edit(
        plan,
        expected_version,
        noun="care plan",
        refuse=lambda p: "" if p.status == CarePlanStatus.ACTIVE else "This care plan is no longer active.",
    )


@transaction.atomic
def careplan_update(
    *, updated_by, plan: CarePlan, expected_version: int, changes: dict[str, Any], reason: str = ""
) -> CarePlan:
    unknown = set(changes) - set(CAREPLAN_FIELDS)
    if unknown:
        raise TypeError(f"Unknown care plan fields: {sorted(unknown)}")
    locked = _lock_active(plan, expected_version)
    _check(changes, locked.patient)
    changed = [f for f, v in changes.items() if getattr(locked, f) != v]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, changes[field])
    locked.version += 1
    history_note(locked, reason=reason.strip() or "Care plan updated")
    locked.save()
    audit_record(
        user=updated_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"fields": changed},
    )
    return locked


@transaction.atomic
def careplan_review(
    *,
    reviewed_by,
    plan: CarePlan,
    outcome: str,
    next_review_date: date | None,
    complete: bool = False,
    expected_version: int | None = None,
) -> CarePlanReview:
    locked = _lock_active(plan, expected_version)
    if not outcome.strip():
        raise RecordError("Record the outcome of the review.", field="outcome")
    if not complete and next_review_date is None:
        raise RecordError("Set the next review date, or complete the plan.", field="next_review_date")
    if next_review_date is not None and next_review_date < timezone.localdate():
        raise RecordError("The next review date must be today or later.", field="next_review_date")
    review = CarePlanReview.objects.create(
        plan=locked,
        reviewed_by=reviewed_by,
        reviewed_at=timezone.now(),
        outcome=outcome.strip(),
        next_review_date=next_review_date,
    )
    if complete:
        locked.status = CarePlanStatus.COMPLETED
        locked.status_reason = outcome.strip()
    else:
        locked.review_date = next_review_date
    locked.version += 1
    history_note(locked, reason="Completed at review" if complete else "Reviewed")
    locked.save()
    audit_record(user=reviewed_by, action=Action.UPDATE, patient_id=locked.patient_id, obj=review)
    return review


def careplan_mark_error(
    *, marked_by, plan: CarePlan, reason: str, expected_version: int | None = None
) -> CarePlan:
    return strike_through(
        entry=plan,
        marked_by=marked_by,
        reason=reason,
        reason_field="status_reason",
        expected_version=expected_version,
    )
