"""Reads about orders: the catalogue as the order page shows it, what the checks need from the
record, and the lists people work from (a patient's orders, a ward's outstanding orders, a
requester's own), each in a constant number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from orders.models import (
    OUTSTANDING,
    Department,
    Order,
    OrderableTest,
    OrderSet,
    OrderStatus,
    Priority,
    ResultReport,
    SendState,
    TestQuestion,
)
from orders.rules import checks
from records.models import (
    ENTERED_IN_ERROR,
    AllergyIntolerance,
    AllergyKind,
    ClinicalStatus,
    Patient,
    Problem,
    ProblemStatus,
)
from records.registries.subject_access import SectionEntry

PRIORITY_RANK: dict[str, int] = {Priority.IMMEDIATE: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}


def orderable_tests(query: str = "", *, role: str = "") -> QuerySet[OrderableTest]:
    """Active tests matching every word of the query; with `role`, only those the role may order."""
    found = OrderableTest.objects.filter(active=True)
    if role:
        found = found.filter(ordering_roles__contains=[role])
    for word in query.split()[:5]:
        found = found.filter(Q(name__icontains=word) | Q(code__iexact=word) | Q(synonyms__icontains=word))
    return found.order_by("department", "name")


def order_sets() -> QuerySet[OrderSet]:
    return OrderSet.objects.filter(active=True).prefetch_related("items__test")


def tests_with_questions(codes: Sequence[str]) -> list[OrderableTest]:
    """The active tests named, in the order given, with their questions (two queries)."""
    found = {
        t.code: t
        for t in OrderableTest.objects.filter(code__in=codes, active=True).prefetch_related(
            Prefetch("questions", queryset=TestQuestion.objects.order_by("position", "pk"))
        )
    }
    return [found[c] for c in dict.fromkeys(codes) if c in found]


def questions_of(test: OrderableTest) -> list[checks.Question]:
    return [
        checks.Question(
            key=q.key,
            text=q.text,
            answer_type=q.answer_type,
            choices=tuple(q.choice_list),
            required=q.required,
            applies=q.applies,
        )
        for q in test.questions.all()
    ]


def allergy_names(patient: Patient) -> list[str]:
    return [
        a.substance
        for a in AllergyIntolerance.objects.filter(patient=patient, clinical_status=ClinicalStatus.ACTIVE)
        .exclude(status=ENTERED_IN_ERROR)
        .exclude(kind=AllergyKind.NO_KNOWN_ALLERGY)
    ]


def active_problem_names(patient: Patient) -> list[str]:
    return list(
        Problem.objects.filter(patient=patient, clinical_status=ProblemStatus.ACTIVE)
        .exclude(status=ENTERED_IN_ERROR)
        .order_by("-recorded_at")
        .values_list("snomed_display", flat=True)
    )


def earlier_orders(
    patient: Patient, tests: Iterable[OrderableTest], since: datetime
) -> dict[int, list[checks.EarlierOrder]]:
    """Per test, the patient's orders of it still outstanding or placed since `since` (one query)."""
    by_test: dict[int, list[checks.EarlierOrder]] = {}
    rows = (
        Order.objects.filter(patient=patient, test__in=list(tests))
        .filter(Q(status__in=OUTSTANDING) | Q(requested_at__gte=since))
        .order_by("-requested_at")
    )
    for order in rows:
        by_test.setdefault(order.test_id, []).append(
            checks.EarlierOrder(
                number=order.number,
                status_label=order.get_status_display(),
                requested_at=order.requested_at,
                outstanding=order.is_outstanding,
                cancelled=order.status == OrderStatus.CANCELLED,
            )
        )
    return by_test


def _listed(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("test", "requested_by", "specimen", "patient").prefetch_related(
        Prefetch(
            "reports",
            queryset=ResultReport.objects.only("pk", "order_id", "acknowledged_at", "abnormal", "critical"),
        )
    )


def patient_orders(patient: Patient, *, limit: int = 100) -> list[Order]:
    """Outstanding first (a failed send, then the most urgent), then the latest resulted or cancelled."""
    orders = list(_listed(Order.objects.filter(patient=patient)).order_by("-requested_at")[:limit])
    return sorted(orders, key=_work_order)


def _work_order(order: Order) -> tuple[int, int, int, float]:
    return (
        0 if order.is_outstanding else 1,
        0 if order.send_state in (SendState.FAILED, SendState.REJECTED) else 1,
        PRIORITY_RANK.get(order.priority, 3) if order.is_outstanding else 0,
        -order.requested_at.timestamp(),
    )


@dataclass(frozen=True)
class OutstandingRow:
    order: Order
    awaiting_collection: bool
    not_sent: bool


def outstanding_for(patients: Sequence[Patient]) -> list[OutstandingRow]:
    """The outstanding orders of the patients shown (a ward's list): not sent first, then
    immediate and urgent, then what waits for a specimen, oldest first."""
    orders = _listed(Order.objects.filter(patient__in=list(patients), status__in=OUTSTANDING))
    rows = [
        OutstandingRow(
            order=o,
            awaiting_collection=o.test.department in Department.laboratory() and not _collected(o),
            not_sent=o.send_state in (SendState.FAILED, SendState.REJECTED),
        )
        for o in orders
    ]
    return sorted(
        rows,
        key=lambda r: (
            0 if r.not_sent else 1,
            PRIORITY_RANK.get(r.order.priority, 3),
            0 if r.awaiting_collection else 1,
            r.order.requested_for,
        ),
    )


def _collected(order: Order) -> bool:
    specimen = getattr(order, "specimen", None)
    return specimen is not None and specimen.collected_at is not None


def requester_orders(user: Any, *, limit: int = 200) -> tuple[list[Order], list[Order]]:
    """A requester's own orders: outstanding, and resulted with a result not yet acknowledged."""
    mine = _listed(Order.objects.filter(requested_by=user)).order_by("-requested_at")
    outstanding = sorted(mine.filter(status__in=OUTSTANDING)[:limit], key=_work_order)
    resulted = list(
        mine.filter(
            status__in=(OrderStatus.FINAL, OrderStatus.CORRECTED), reports__acknowledged_at__isnull=True
        ).distinct()[:limit]
    )
    return outstanding, resulted


def order_detail(order_id: int) -> Order:
    return (
        Order.objects.filter(pk=order_id)
        .select_related(
            "test",
            "requested_by",
            "patient",
            "order_set",
            "cancelled_by",
            "specimen__collected_by",
            "encounter",
        )
        .prefetch_related(
            "warnings",
            "messages",
            Prefetch(
                "reports", queryset=ResultReport.objects.select_related("acknowledged_by").order_by("pk")
            ),
        )
        .get()
    )


def order_entries(patient: Patient) -> list[SectionEntry]:
    """Every order of the patient, for the subject-access export."""
    return [
        SectionEntry(
            id=o.number,
            when=o.requested_at,
            summary=o.test.name,
            details={
                "Order number": o.number,
                "Status": o.get_status_display(),
                "Priority": o.get_priority_display(),
                "Requested by": str(o.requested_by),
                "Clinical details": o.clinical_details,
                "Answers": "; ".join(f"{k}: {v}" for k, v in o.answers.items()),
                "Cancelled because": o.cancel_reason,
                "Specimen collected": getattr(getattr(o, "specimen", None), "collected_at", None),
            },
        )
        for o in Order.objects.filter(patient=patient)
        .select_related("test", "requested_by", "specimen")
        .order_by("requested_at")
    ]
