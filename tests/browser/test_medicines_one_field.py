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
