"""The orders and results part of the demo (manage.py seed_demo, through records.registries.demo): the
order catalogue; outstanding orders for Ward A1's patients (admission bloods, a CT head, blood
cultures waiting to be taken, an ECG), placed through the same service a doctor uses; and a few days
of bloods filed through the same HL7 v2 intake a laboratory uses, the older ones acknowledged,
today's including one abnormal CRP and one critical potassium (answering its U&E order) still
waiting. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from epr.accounts.models import User
from orders.models import OUTSTANDING, AckAction, Order, OrderableTest, OrderSet, ResultReport, Specimen
from orders.samples import oru_for
from orders.services.catalogue import catalogue_load
from orders.services.requests import orders_place, specimen_collect
from orders.services.results import result_acknowledge, result_alert_raise, results_receive
from records.models import Ward, WardStay

DEMO_WARD = "SL-A1"


def _a1_stays() -> list[WardStay]:
    ward = Ward.objects.filter(code=DEMO_WARD).first()
    if ward is None:
        return []
    return list(
        WardStay.objects.filter(ward=ward, ended_at__isnull=True)
        .select_related("encounter__patient")
        .order_by("pk")[:6]
    )


def load_orders_demo(write: Callable[[str], Any]) -> str:
    loaded = catalogue_load()
    stays = _a1_stays()
    if not stays or Order.objects.exists():
        return (
            f"Order catalogue: {loaded.tests} tests, {loaded.order_sets} order sets; orders already loaded."
        )
    doctor = User.objects.get(username="doctor")
    nurse = User.objects.get(username="nurse")
    tests = {t.code: t for t in OrderableTest.objects.all()}
    admission = OrderSet.objects.get(code="admission-bloods")
    patients = [s.encounter.patient for s in stays]
    placed = orders_place(
        requested_by=doctor,
        patient=patients[0],
        tests=[item.test for item in admission.items.select_related("test")],
        order_set=admission,
        priority="urgent",
        clinical_details="Admitted with breathlessness and confusion.",
    )
    for order in placed:
        specimen_collect(order=order, by=nurse)
    if len(patients) > 2:
        orders_place(
            requested_by=doctor,
            patient=patients[2],
            tests=[tests["CTH"]],
            priority="urgent",
            clinical_details="Fall on the ward, on apixaban. Head injury?",
            answers={"CTH": {"question": "Intracranial bleed after a fall?", "anticoagulated": "Yes"}},
        )
    if len(patients) > 3:
        orders_place(
            requested_by=doctor,
            patient=patients[3],
            tests=[tests["BC"], tests["LACT"]],
            priority="stat",
            clinical_details="Temperature 38.9, NEWS2 6. Sepsis?",
            answers={"BC": {"antibiotics": "No", "sets": "2", "source": "Chest"}},
        )
    if len(patients) > 4:
        orders_place(
            requested_by=doctor,
            patient=patients[4],
            tests=[tests["ECG"]],
            answers={"ECG": {"reason": "Baseline"}},
        )
    return (
        f"Orders: catalogue of {loaded.tests} tests and {loaded.order_sets} order sets; "
        f"{Order.objects.filter(status__in=OUTSTANDING).count()} outstanding orders on Ward A1 "
        f"({Specimen.objects.filter(collected_at__isnull=True).count()} specimens to take)."
    )


def _placer(patient: Any, code: str) -> str:
    order = Order.objects.filter(patient=patient, test__code=code, status__in=OUTSTANDING).first()
    return order.number if order else ""


def load_demo(write: Callable[[str], Any]) -> str:
    ward = Ward.objects.filter(code=DEMO_WARD).first()
    if ward is None or ResultReport.objects.exists():
        return "Results: already loaded."
    doctor = User.objects.get(username="doctor")
    now = timezone.now()
    stays = _a1_stays()  # the same patients as the orders: the critical potassium answers the U&E order
    for index, stay in enumerate(stays):
        patient = stay.encounter.patient
        for days_ago in (2, 1):
            for panel in ("U&E", "FBC"):
                results_receive(
                    oru_for(patient, panel, taken_at=now - timedelta(days=days_ago)), channel="demo"
                )
        today: dict[str, Decimal] = {}
        if index == 0:
            today = {"2823-3": Decimal("6.9")}  # critical potassium, waiting
        results_receive(
            oru_for(
                patient, "U&E", values=today, taken_at=now - timedelta(hours=2), placer=_placer(patient, "UE")
            ),
            channel="demo",
        )
        if index == 1:
            results_receive(
                oru_for(patient, "CRP", values={"1988-5": Decimal("180")}, taken_at=now - timedelta(hours=3)),
                channel="demo",
            )
    for report in ResultReport.objects.filter(observed_at__lt=now - timedelta(hours=12)):
        result_acknowledge(by=doctor, report=report, action=AckAction.NO_ACTION)
    for report in ResultReport.objects.filter(acknowledged_at__isnull=True).filter(abnormal=True):
        result_alert_raise(report_id=report.pk)
    return f"Results: {ResultReport.objects.count()} reports for {len(stays)} patients on {ward.name}."
