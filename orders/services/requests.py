"""Placing, cancelling and following orders. Placing checks who may order each test and the answers
to its questions (refused, not overridable), then warns of duplicates and conflicts with the record
(each overridable with a reason that is kept). Nothing is saved while a warning has no reason. Each
placed or cancelled order gets its HL7 v2 message queued for the department (orders/services/
outbound.py), sent by Celery after the transaction commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from epr.accounts.roles import StaffGrade
from epr.audit.models import Action
from epr.audit.services import audit_record
from orders.models import (
    OUTSTANDING,
    Order,
    OrderableTest,
    OrderSet,
    OrderStatus,
    OrderWarning,
    Priority,
    Specimen,
)
from orders.rules import checks
from orders.selectors import requests as selectors
from orders.selectors.results import latest_egfr
from orders.services.outbound import message_queue
from records.errors import RecordError
from records.models import Encounter, EncounterStatus, Patient
from records.services.entries import lock_for_edit
from records.services.patients import patient_require_writable

LONGEST_LOOKBACK = timedelta(days=400)  # longer than any re-test interval the catalogue holds


@dataclass(frozen=True)
class PendingWarning:
    key: str
    test: OrderableTest
    warning: checks.Warning


class WarningsNeedReasons(RecordError):
    """The order raised warnings not yet answered; nothing was saved."""

    def __init__(self, pending: list[PendingWarning]) -> None:
        super().__init__(
            "Check the warnings below: remove the test, or give a reason to order it despite each."
        )
        self.pending = pending


def _next_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('orders_order_number')")
        (value,) = cursor.fetchone()
    return f"EPR{value:08d}"


def _refusals(tests: Sequence[OrderableTest], user: Any) -> dict[str, str]:
    grade_label = dict(StaffGrade.choices).get(getattr(user, "grade", ""), "")
    refusals = {}
    for test in tests:
        why = checks.who_may_order(
            test_name=test.name,
            ordering_roles=test.ordering_roles,
            min_grade=test.min_referrer_grade,
            role=getattr(user, "role", ""),
            grade=getattr(user, "grade", ""),
            grade_label=grade_label,
        )
        if why:
            refusals[test.code] = why
    return refusals


def asked_questions(patient: Patient, test: OrderableTest) -> list[checks.Question]:
    childbearing = checks.could_be_pregnant(patient.sex, patient.date_of_birth, timezone.localdate())
    return checks.asked(selectors.questions_of(test), childbearing=childbearing)


def warnings_for(patient: Patient, tests: Sequence[OrderableTest], *, now: datetime) -> list[PendingWarning]:
    """What ordering these tests for this patient now would warn of."""
    earlier = selectors.earlier_orders(patient, tests, now - LONGEST_LOOKBACK)
    allergies = selectors.allergy_names(patient)
    problems = selectors.active_problem_names(patient)
    needs_renal = any(t.contrast for t in tests)
    egfr = latest_egfr(patient) if needs_renal else None
    pending = []
    for test in tests:
        found = checks.duplicate_warnings(
            test_name=test.name,
            retest_hours=test.retest_interval_hours,
            earlier=earlier.get(test.pk, []),
            now=now,
        )
        found += checks.conflict_warnings(
            test_name=test.name,
            modality=test.modality,
            contrast=test.contrast,
            allergies=allergies,
            problems=problems,
            egfr=egfr.value if egfr is not None else None,
        )
        pending += [PendingWarning(checks.warning_key(test.code, w), test, w) for w in found]
    return pending


def _encounter_for(patient: Patient) -> Encounter | None:
    return (
        Encounter.objects.filter(patient=patient, status=EncounterStatus.ACTIVE)
        .order_by("-admitted_at")
        .first()
    )


@transaction.atomic
def orders_place(
    *,
    requested_by: Any,
    patient: Patient,
    tests: Sequence[OrderableTest],
    priority: str = Priority.ROUTINE,
    requested_for: datetime | None = None,
    clinical_details: str = "",
    notes: str = "",
    answers: Mapping[str, Mapping[str, str]] | None = None,
    reasons: Mapping[str, str] | None = None,
    order_set: OrderSet | None = None,
) -> list[Order]:
    """Place one order per test. Refused (RecordError, with `errors` keyed "<code>" or
    "<code>-<question>") for what cannot be overridden; WarningsNeedReasons while a warning has no
    reason in `reasons` (keyed as the warning's key)."""
    if not tests:
        raise RecordError("Choose at least one test to order.", field="tests")
    if priority not in Priority.values:
        raise RecordError("Choose routine, urgent or immediate.", field="priority")
    patient_require_writable(patient)
    Patient.objects.select_for_update().get(pk=patient.pk)  # one ordering decision at a time: no twin orders
    now = timezone.now()
    when = requested_for or now
    if when < now - timedelta(hours=1):
        raise RecordError(
            "The requested date is in the past: give today or a later date.", field="requested_for"
        )
    if when > now + timedelta(days=366):
        raise RecordError("The requested date is more than a year away.", field="requested_for")
    errors: dict[str, str] = dict(_refusals(tests, requested_by))
    given = {code: {k: " ".join(str(v).split()) for k, v in a.items()} for code, a in (answers or {}).items()}
    asked: dict[str, list[checks.Question]] = {}
    for test in tests:
        asked[test.code] = asked_questions(patient, test)
        for key, message in checks.answer_errors(asked[test.code], given.get(test.code, {})).items():
            errors[f"{test.code}-{key}"] = message
    if errors:
        first = next(iter(errors.values()))
        raise RecordError(
            first if len(errors) == 1 else f"{len(errors)} things need changing: {first}", errors=errors
        )
    pending = warnings_for(patient, tests, now=now)
    cleaned = {key: " ".join(text.split()) for key, text in (reasons or {}).items()}
    if any(not cleaned.get(p.key) for p in pending):
        raise WarningsNeedReasons(pending)
    encounter = _encounter_for(patient)
    placed = []
    for test in tests:
        kept = {q.key: given.get(test.code, {}).get(q.key, "") for q in asked[test.code]}
        order = Order.objects.create(
            number=_next_number(),
            patient=patient,
            encounter=encounter,
            test=test,
            order_set=order_set,
            priority=priority,
            requested_for=when,
            clinical_details=clinical_details.strip(),
            notes=notes.strip(),
            answers={k: v for k, v in kept.items() if v},
            requested_by=requested_by,
            requested_at=now,
            status_changed_at=now,
        )
        OrderWarning.objects.bulk_create(
            OrderWarning(order=order, kind=p.warning.kind, message=p.warning.message, reason=cleaned[p.key])
            for p in pending
            if p.test.pk == test.pk
        )
        if test.is_laboratory:
            Specimen.objects.create(
                order=order,
                patient=patient,
                type=test.specimen_type or "Specimen",
                type_snomed=test.specimen_snomed,
                container=test.container,
            )
        message_queue(order=order, event="NW", now=now)
        audit_record(
            user=requested_by,
            action=Action.CREATE,
            patient_id=patient.pk,
            obj=order,
            detail={
                "test": test.code,
                "overridden": [p.warning.kind for p in pending if p.test.pk == test.pk],
            },
        )
        placed.append(order)
    return placed


def _refuse_cancel(order: Order) -> str:
    if order.status == OrderStatus.CANCELLED:
        return "This order is already cancelled."
    if order.status not in OUTSTANDING:
        return "This order has its final result: it cannot be cancelled."
    return ""


@transaction.atomic
def order_cancel(*, order: Order, by: Any, reason: str, version: int | None = None) -> Order:
    reason = " ".join(reason.split())
    if not reason:
        raise RecordError("Give the reason the order is cancelled.", field="reason")
    order = lock_for_edit(order, version, noun="order", refuse=_refuse_cancel)
    now = timezone.now()
    order.status = OrderStatus.CANCELLED
    order.cancel_reason = reason
    order.cancelled_by = by
    order.cancelled_at = now
    order.status_changed_at = now
    order.version += 1
    order._change_reason = f"Cancelled: {reason}"  # type: ignore[attr-defined]  # simple-history reads it
    order.save()
    message_queue(order=order, event="CA", now=now)
    audit_record(
        user=by, action=Action.UPDATE, patient_id=order.patient_id, obj=order, detail={"cancelled": True}
    )
    return order


COLLECTABLE = (OrderStatus.PLACED, OrderStatus.SENT, OrderStatus.RECEIVED)


@transaction.atomic
def specimen_collect(*, order: Order, by: Any, collected_at: datetime | None = None) -> Specimen:
    """Record the specimen taken: once (a second click is told who took it and when)."""
    now = timezone.now()
    at = collected_at or now
    if at > now + timedelta(minutes=5):
        raise RecordError("The collection time is in the future.", field="collected_at")
    if at < order.requested_at - timedelta(days=1):
        raise RecordError("The collection time is before the order was placed.", field="collected_at")
    try:
        specimen = Specimen.objects.select_for_update().get(order=order)
    except Specimen.DoesNotExist:
        raise RecordError("This order needs no specimen.") from None
    if specimen.collected_at is not None:
        raise RecordError(
            f"The specimen was already recorded as collected by {specimen.collected_by} "
            f"at {timezone.localtime(specimen.collected_at):%H:%M on %d-%b-%Y}."
        )
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status == OrderStatus.CANCELLED:
        raise RecordError("This order was cancelled: do not send the specimen.")
    specimen.collected_by, specimen.collected_at = by, at
    specimen.save()
    if locked.status in COLLECTABLE:
        locked.status = OrderStatus.COLLECTED
        locked.status_changed_at = now
        locked.version += 1
        locked.save(update_fields=["status", "status_changed_at", "version"])
    audit_record(
        user=by, action=Action.UPDATE, patient_id=order.patient_id, obj=specimen, detail={"collected": True}
    )
    return specimen


def labels_printed(*, specimen: Specimen, by: Any) -> None:
    Specimen.objects.filter(pk=specimen.pk).update(labels_printed=F("labels_printed") + 1)
    audit_record(
        user=by, action=Action.EXPORT, patient_id=specimen.patient_id, obj=specimen, detail={"label": True}
    )


# OBR-25 result status (HL7 table 0123) to the order's status.
RESULT_STATUS = {
    "O": OrderStatus.RECEIVED,
    "S": OrderStatus.RECEIVED,
    "I": OrderStatus.IN_PROGRESS,
    "A": OrderStatus.PARTIAL,
    "P": OrderStatus.PARTIAL,
    "R": OrderStatus.PARTIAL,
    "F": OrderStatus.FINAL,
    "C": OrderStatus.CORRECTED,
    "X": OrderStatus.CANCELLED,
}
STATUS_STEP = {s: n for n, s in enumerate(OrderStatus.values)}


def order_follow_result(*, order: Order, report_status: str, filler_number: str, now: datetime) -> None:
    """Move the order on as its results arrive; never backwards (a late preliminary after the final
    changes nothing), except that a correction always shows."""
    target = RESULT_STATUS.get(report_status.upper())
    locked = Order.objects.select_for_update().get(pk=order.pk)
    changed = []
    if filler_number and not locked.filler_number:
        locked.filler_number = filler_number[:50]
        changed.append("filler_number")
    if target == OrderStatus.CANCELLED and locked.status not in OUTSTANDING:
        target = None  # the department cancelling after its final result leaves the result standing
    moves_on = target is not None and (
        target == OrderStatus.CORRECTED or STATUS_STEP[target] > STATUS_STEP[locked.status]
    )
    if target is not None and moves_on and locked.status != OrderStatus.CANCELLED:
        locked.status = target
        locked.status_changed_at = now
        changed += ["status", "status_changed_at"]
    if changed:
        locked.version += 1
        locked.save(update_fields=[*changed, "version"])
