"""The results part of the demo (manage.py seed_demo, through records.registries.demo): a few days of
bloods for Ward A1's patients, filed through the same HL7 v2 intake a laboratory uses, the older ones
acknowledged, today's including one abnormal CRP and one critical potassium still waiting. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from epr.accounts.models import User
from orders.models import AckAction, ResultReport
from orders.samples import oru_for
from orders.services.results import result_acknowledge, result_alert_raise, results_receive
from records.models import Ward, WardStay

DEMO_WARD = "SL-A1"


def load_demo(write: Callable[[str], Any]) -> str:
    ward = Ward.objects.filter(code=DEMO_WARD).first()
    if ward is None or ResultReport.objects.exists():
        return "Results: already loaded."
    doctor = User.objects.get(username="doctor")
    now = timezone.now()
    stays = list(
        WardStay.objects.filter(ward=ward, ended_at__isnull=True).select_related("encounter__patient")[:6]
    )
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
            oru_for(patient, "U&E", values=today, taken_at=now - timedelta(hours=2)), channel="demo"
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
