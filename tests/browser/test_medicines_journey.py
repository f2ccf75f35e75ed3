"""Closed-loop medicines in a real browser: a doctor prescribes an antibiotic for a patient with a
penicillin allergy, sees the warning and chooses another; a pharmacist verifies it from the queue; a
nurse gives it by scanning, the wrong patient's wristband refused first, then the right one; the chart
shows the dose given with its batch and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from epr.accounts.roles import Role
from prescribing.models import Administration, Prescription, Verification
from records import services as records
from tests.factories import PatientFactory, UserFactory
from tests.factories.prescribing import product
from tests.prescribing.support import pack

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"


def test_prescribe_verify_and_give_by_scanning(
    transactional_db, live_server, log_in, axe, admitted, doctor, nurse, ward
):
    patient = admitted.patient
    records.allergy_record(recorded_by=nurse, patient=patient, substance_text="Penicillin", kind="allergy")
    product("Amoxicillin 500mg capsules", "Amoxicillin")
    doxycycline = product("Doxycycline 100mg capsules", "Doxycycline")
    doxycycline.route_names = ["Oral"]
    doxycycline.save()
    gtin = pack(doxycycline, 11)
    pharmacist = UserFactory(username="priya", role=Role.PHARMACIST, first_name="Priya", last_name="Patel")
    pharmacist.set_password(PASSWORD)
    pharmacist.save()
    records.ward_add_staff(ward=ward, users=[pharmacist])
    someone_else = PatientFactory(family_name="Jones", given_names="Mary")
    hour = timezone.localtime().strftime("%H:00")

    # The doctor: the penicillin allergy stops amoxicillin; doxycycline is prescribed instead.
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient.pk}/medicines/")
    axe(page, context="drug chart, nothing prescribed")
    page.get_by_role("link", name="Prescribe a medicine").click()
    page.get_by_label("Medicine").fill("amox")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Amoxicillin 500mg capsules").click()
    warning = page.get_by_test_id("checks")
    expect(warning).to_contain_text("Allergy recorded to Penicillin")
    axe(page, context="prescribe, with an allergy warning")
    page.get_by_role("link", name="Choose another medicine").first.click()
    page.get_by_label("Medicine").fill("doxy")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Doxycycline 100mg capsules").click()
    expect(page.get_by_test_id("checks")).to_have_count(0)
    page.get_by_role("radio", name="Regular").check()
    page.get_by_label("Dose", exact=True).fill("100")
    page.get_by_label("Dose unit").select_option("mg")
    page.get_by_label("Other times (regular)").fill(hour)
    # Started on the hour, so this hour's dose is due now.
    page.get_by_label("Start").fill(f"{timezone.localdate().isoformat()}T{hour}")
    page.get_by_label("Indication").fill("Cellulitis, penicillin allergic")
    page.get_by_label("Review date").fill((timezone.localdate() + timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Prescribe").click()
    expect(page.get_by_text("Doxycycline 100mg capsules prescribed")).to_be_visible()
    expect(page.get_by_test_id("unverified")).to_be_visible()
    prescription = Prescription.objects.get()
    assert prescription.vmp == doxycycline and prescription.times_of_day == [hour]

    # The pharmacist verifies it from the queue.
    page = log_in("priya")
    page.goto("/medicines/verification/")
    item = page.get_by_test_id("queue-item")
    expect(item).to_contain_text("Doxycycline 100mg capsules")
    axe(page, context="verification queue")
    item.get_by_role("button", name="Verify").click()
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    prescription.refresh_from_db()
    assert prescription.verification == Verification.VERIFIED

    # The nurse: the wrong wristband is refused, then the right one and the pack are accepted.
    page = log_in(nurse.username)
    page.goto(f"/patients/{patient.pk}/medicines/")
    page.get_by_role("link", name=f"Give Doxycycline 100mg capsules due {hour}").click()
    axe(page, context="administration screen")
    scan_wristband = page.get_by_label("Scan wristband")
    expect(scan_wristband).to_be_focused()
    scan_wristband.type(someone_else.nhs_number)
    scan_wristband.press("Enter")  # a scanner's Enter moves on to the medicine, it does not send
    expect(page.get_by_label("Scan medicine")).to_be_focused()
    page.get_by_label("Scan medicine").fill(f"]d201{gtin}17301231\x1d10LOT42\x1d21S1")
    page.get_by_label("Scan medicine").press("Enter")
    expect(page.get_by_test_id("refusal-wrong-patient")).to_contain_text("This wristband is not")
    assert not Administration.objects.exists()
    axe(page, context="administration refused")
    page.get_by_label("Scan wristband").fill(patient.hospital_number)
    page.get_by_label("Scan medicine").fill(f"]d201{gtin}17301231\x1d10LOT42\x1d21S1")
    page.get_by_role("button", name="Record dose given").click()
    expect(page.get_by_text("Doxycycline 100mg capsules 100 mg given. Batch LOT42")).to_be_visible()
    given = page.get_by_test_id("dose-given")
    expect(given).to_contain_text("LOT42")
    expect(given).to_contain_text("31-Dec-2030")
    axe(page, context="drug chart, dose given")
    assert Administration.objects.get().batch == "LOT42"
