"""One change on the drug chart changes nothing else: stopping one prescription keeps its dose,
route, times, indication and prescriber, and leaves the other prescription as it was."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from prescribing.models import Prescription, PrescriptionStatus
from tests.factories.prescribing import product
from tests.prescribing.support import prescribe

pytestmark = pytest.mark.browser
FIELDS = (
    "vmp_id",
    "kind",
    "dose_value",
    "dose_unit",
    "route",
    "times_of_day",
    "indication",
    "starts_at",
    "ends_at",
    "review_on",
    "prescribed_by_id",
    "prescribed_at",
    "verification",
    "notes_for_administration",
)


def snapshot(prescription: Prescription) -> dict:
    prescription.refresh_from_db()
    return {name: getattr(prescription, name) for name in FIELDS}


def test_stopping_one_prescription_changes_nothing_else(
    transactional_db, live_server, log_in, axe, admitted, doctor
):
    patient = admitted.patient
    first = prescribe(
        doctor,
        patient,
        product("Paracetamol 500mg tablets", "Paracetamol"),
        notes_for_administration="With food",
    )
    second = prescribe(
        doctor,
        patient,
        product("Senna 7.5mg tablets", "Senna"),
        dose_value=Decimal("15"),
        times_of_day=["22:00"],
    )
    before_first, before_second = snapshot(first), snapshot(second)
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient.pk}/medicines/")
    card = page.get_by_test_id("prescription").filter(has_text="Paracetamol 500mg tablets")
    card.get_by_text("Stop", exact=False).first.click()
    card.get_by_label("Why is it stopped?").fill("Pain settled")
    card.get_by_role("button", name="Stop prescription").click()
    expect(page.get_by_text("Paracetamol 500mg tablets stopped.")).to_be_visible()
    axe(page, context="drug chart with a stopped prescription")
    assert snapshot(first) == before_first
    assert snapshot(second) == before_second
    first.refresh_from_db()
    assert first.status == PrescriptionStatus.STOPPED and first.stop_reason == "Pain settled"
    second.refresh_from_db()
    assert second.status == PrescriptionStatus.ACTIVE


CARRIED = (
    "vmp_id",
    "kind",
    "dose_unit",
    "route",
    "times_of_day",
    "indication",
    "ends_at",
    "review_on",
    "setting",
    "notes_for_administration",
    "min_interval_minutes",
    "max_doses_in_24_hours",
)


def test_changing_only_the_dose_carries_everything_else_into_the_new_prescription(
    transactional_db, live_server, log_in, axe, admitted, doctor
):
    from datetime import timedelta

    from django.utils import timezone

    patient = admitted.patient
    old = prescribe(
        doctor,
        patient,
        product("Paracetamol 500mg tablets", "Paracetamol"),
        times_of_day=["06:00", "12:00", "17:30"],
        notes_for_administration="With food",
        indication="Back pain",
        review_on=timezone.localdate() + timedelta(days=5),
        ends_at=timezone.now().replace(microsecond=0, second=0) + timedelta(days=7),
    )
    old.vmp.route_names = ["Oral", "Rectal"]
    old.vmp.save()
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient.pk}/medicines/")
    page.get_by_role("link", name="Change Paracetamol 500mg tablets").click()
    expect(page.get_by_test_id("changing")).to_be_visible()
    axe(page, context="change a prescription")
    page.get_by_label("Dose", exact=True).fill("500")
    page.get_by_label("Why is it changed?").fill("Reduce: low body weight")
    page.get_by_role("button", name="Change prescription").click()
    expect(page.get_by_text("Paracetamol 500mg tablets changed.")).to_be_visible()
    old.refresh_from_db()
    new = Prescription.objects.get(replaces=old)
    assert old.status == PrescriptionStatus.STOPPED and old.stop_reason == "Changed: Reduce: low body weight"
    assert new.dose_value == Decimal("500")
    assert {f: getattr(new, f) for f in CARRIED} == {f: getattr(old, f) for f in CARRIED}
