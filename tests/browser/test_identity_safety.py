"""Identity safety for clerks and administrators, in a real browser: a mistyped NHS number, a possible
duplicate, break-glass limits, merge and rollback previews, and a discharge on death."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from records import services
from records.models import EncounterStatus, Patient, PatientMerge, WardStay
from tests.factories import PatientFactory

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/identity")  # noqa: S108 - screenshots to look at, not data
WIDTHS = {"desktop": 1280, "tablet": 800, "phone": 390}


def field(label: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(label)}( \(optional\))?$")


def _look(page: Page, name: str) -> None:
    """Screenshots at desktop, ward tablet and phone widths; the page never scrolls sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def _fill_date_of_birth(page: Page, iso: str) -> None:
    year, month, day = iso.split("-")
    group = page.get_by_role("group", name=field("Date of birth"))
    if group.count():  # Day, Month and Year boxes
        group.get_by_label("Day").fill(day)
        group.get_by_label("Month").fill(month)
        group.get_by_label("Year").fill(year)
    else:
        page.get_by_label(field("Date of birth")).fill(iso)


def _admin_page(log_in, admin_user) -> Page:
    device = TOTPDevice.objects.create(user=admin_user, name="test", confirmed=True)
    page = log_in(admin_user.username)
    page.goto("/accounts/second-factor/")
    page.get_by_label("6-digit code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Continue").click()
    return page


def test_a_mistyped_nhs_number_search_says_the_check_digit_is_wrong(live_server, log_in, clerk, patient):
    page = log_in(clerk.username)
    page.goto("/patients/")
    page.get_by_label(field("NHS number or hospital number")).fill("943 476 5918")
    page.get_by_role("button", name="Search").click()

    message = "943 476 5918 is not a valid NHS number: the check digit is wrong"
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text(message)
    expect(page.locator("#identifier-error")).to_contain_text(message)
    expect(page.get_by_role("link", name="register a new patient")).to_have_count(0)
    _look(page, "search-invalid-nhs-number")


def test_a_possible_duplicate_is_shown_and_nothing_saved_until_confirmed(live_server, log_in, clerk):
    existing = PatientFactory(
        family_name="Okafor",
        given_names="Grace",
        date_of_birth=date(1948, 5, 17),
        sex="female",
        address_line_1="12 Cardigan Road",
        postcode="LS6 2QT",
    )
    before = Patient.objects.count()

    page = log_in(clerk.username)
    page.goto("/patients/register/")
    page.get_by_label(field("Family name (surname)")).fill("Okafor")
    page.get_by_label(field("Given names")).fill("Grace")
    _fill_date_of_birth(page, "1948-05-17")
    page.get_by_label(field("Sex")).select_option(label="Female")
    page.get_by_role("button", name="Register patient").click()

    matches = page.get_by_test_id("possible-matches")
    expect(matches).to_contain_text("1 possible match already registered")
    row = page.locator(".epr-matches tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(existing.nhs_number_display)
    expect(row).to_contain_text("17-May-1948")
    expect(row).to_contain_text("12 Cardigan Road, LS6 2QT")
    expect(row.get_by_role("link", name="OKAFOR, Grace")).to_have_attribute(
        "href", f"/patients/{existing.pk}/"
    )
    assert Patient.objects.count() == before
    _look(page, "register-possible-duplicate")

    # Enter in a field only checks the details again; it never confirms.
    page.get_by_label(field("Given names")).press("Enter")
    expect(page.get_by_test_id("possible-matches")).to_be_visible()
    assert Patient.objects.count() == before

    page.get_by_role("button", name="None of these is the patient: register a new record").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    assert Patient.objects.count() == before + 1
    assert not page.url.endswith(f"/patients/{existing.pk}/")


def test_an_nhs_number_in_use_links_to_that_record(live_server, log_in, clerk, patient):
    page = log_in(clerk.username)
    page.goto("/patients/register/")
    page.get_by_label(field("NHS number")).fill("999 000 0018")
    page.get_by_label(field("Family name (surname)")).fill("Smyth")
    page.get_by_role("button", name="Register patient").click()

    clash = page.get_by_test_id("nhs-number-clash")
    expect(clash.get_by_role("link")).to_have_attribute("href", f"/patients/{patient.pk}/")
    expect(clash).to_contain_text(patient.hospital_number)
    _look(page, "register-nhs-number-in-use")


def test_break_glass_shows_who_first_and_does_not_allow_moving_the_patient(
    live_server, log_in, outsider, admitted, other_ward
):
    patient = admitted.patient
    page = log_in(outsider.username)
    page.goto(f"/patients/{patient.pk}/")
    refused = page.get_by_test_id("refused-patient")
    expect(refused).to_contain_text("SMITH, John")
    expect(refused).to_contain_text("999 000 0018")
    expect(refused).to_contain_text(f"{patient.date_of_birth:%d-%b-%Y}")
    _look(page, "no-relationship")

    page.get_by_label("Why do you need this record now?").fill("Arrest call on the corridor by Ward 7")
    page.get_by_role("button", name="Open record with break-glass").click()
    expect(page.locator(".epr-break-glass")).to_contain_text("Break-glass access until")

    for action in ("transfer", "discharge", "edit"):
        response = page.goto(f"/patients/{patient.pk}/{action}/")
        assert response is not None and response.status == 403, action
    admitted.refresh_from_db()
    assert admitted.status == EncounterStatus.ACTIVE
    assert WardStay.objects.filter(encounter=admitted).count() == 1


def test_merge_shows_both_records_then_what_moved(live_server, log_in, admin_user, nurse, admitted):
    survivor = admitted.patient
    duplicate = PatientFactory(
        family_name="Smith", given_names="Jon", nhs_number="", date_of_birth=survivor.date_of_birth
    )
    for substance in ("Penicillin", "Latex"):
        services.allergy_record(recorded_by=nurse, patient=duplicate, substance_text=substance)

    page = _admin_page(log_in, admin_user)
    page.goto(f"/patients/{duplicate.pk}/merge/")
    expect(page.locator("a.nhsuk-back-link")).to_have_attribute("href", f"/patients/{duplicate.pk}/")
    page.get_by_label(field("Hospital number of the other record")).fill(survivor.hospital_number)
    page.get_by_label(field("Reason")).fill("Registered twice in ED")
    page.get_by_role("button", name="Compare the records").click()

    table = page.get_by_test_id("merge-comparison")
    given = table.get_by_role("row").filter(has_text="Given names")
    expect(given).to_contain_text("Jon")
    expect(given).to_contain_text("John")
    expect(given).to_have_attribute("data-differs", "true")
    expect(table.get_by_role("row").filter(has_text="Date of birth")).not_to_have_attribute(
        "data-differs", "true"
    )
    kept = page.get_by_test_id("merge-survivor")
    expect(kept).to_contain_text("999 000 0018")
    expect(kept).to_contain_text(survivor.hospital_number)
    assert not PatientMerge.objects.exists()
    _look(page, "merge-preview")

    page.get_by_role("button", name=f"Merge into {survivor.hospital_number}").click()
    moved = page.get_by_test_id("merge-moved")
    expect(moved.get_by_role("row").filter(has_text=re.compile("allerg", re.IGNORECASE))).to_contain_text("2")
    assert PatientMerge.objects.get().duplicate_id == duplicate.pk
    _look(page, "merge-result")


def test_rollback_shows_before_and_after_and_needs_a_reason(live_server, log_in, admin_user, clerk, patient):
    services.patient_update(
        updated_by=clerk, patient=patient, expected_version=1, changes={"postcode": "LS1 4AP"}
    )
    original = patient.history.order_by("history_date").first()

    page = _admin_page(log_in, admin_user)
    page.goto(f"/patients/{patient.pk}/history/")
    latest = page.get_by_test_id("history").locator("tbody tr").first
    expect(latest).to_contain_text("Postcode")
    expect(latest).to_contain_text(re.compile(rf"{re.escape(original.postcode)}\s*→.*LS1 4AP"))
    _look(page, "history")

    page.get_by_role("link", name="Roll back to version 1").click()
    changes = page.get_by_test_id("rollback-changes")
    row = changes.get_by_role("row").filter(has_text="Postcode")
    expect(row).to_contain_text("LS1 4AP")
    expect(row).to_contain_text(original.postcode)
    _look(page, "rollback-preview")
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    patient.refresh_from_db()
    assert patient.postcode == "LS1 4AP"

    page.get_by_label(field("Reason for rolling back")).fill("Postcode was another patient's")
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/history/$"))
    expect(page.get_by_test_id("history")).to_contain_text(
        "Rolled back to version 1: Postcode was another patient's"
    )
    patient.refresh_from_db()
    assert patient.postcode == original.postcode


def test_admit_fills_the_team_and_discharge_on_death_is_confirmed(
    live_server, log_in, clerk, doctor, team, ward, bed
):
    patient = PatientFactory(family_name="Adeyemi", given_names="Tunde")
    page = log_in(clerk.username)
    page.goto(f"/patients/{patient.pk}/admit/")
    expect(page.get_by_label(field("Specialty"))).to_have_value("")
    expect(page.get_by_label(field("Admission method"))).to_have_value("")
    page.get_by_role("button", name="Admit", exact=True).click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select a specialty")
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select the consultant")

    page.get_by_label(field("Ward")).select_option(label=ward.name)
    page.get_by_label(field("Consultant")).select_option(label=str(doctor))
    expect(page.get_by_label(field("Treating team"))).to_have_value(str(team.pk))
    page.get_by_label(field("Specialty")).select_option(label="General internal medicine")
    page.get_by_label(field("Admission method")).select_option(label="Emergency - GP referral")
    admitted_at = timezone.localtime(timezone.now() - timedelta(hours=3))
    page.get_by_label(field("Admitted at")).fill(admitted_at.strftime("%Y-%m-%dT%H:%M"))
    _look(page, "admit")
    page.get_by_role("button", name="Admit", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Admitted to {ward.name}")

    page.goto(f"/patients/{patient.pk}/discharge/")
    page.get_by_label(field("Discharge destination")).select_option(label="Patient died")
    page.get_by_role("button", name="Discharge", exact=True).click()
    expect(page.locator("#died_at-error")).to_contain_text("Enter the date and time of death")
    died = timezone.localtime(timezone.now() - timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.get_by_label(field("Date and time of death")).fill(died.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Discharge", exact=True).click()

    summary = page.get_by_test_id("discharge-summary")
    expect(summary).to_contain_text("ADEYEMI, Tunde")
    expect(summary).to_contain_text(ward.name)
    expect(summary).to_contain_text("Patient died")
    expect(summary).to_contain_text(died.strftime("%d-%b-%Y %H:%M"))
    assert Patient.objects.get(pk=patient.pk).date_of_death is None
    _look(page, "discharge-summary")
    page.get_by_role("button", name="Confirm discharge").click()
    expect(page.get_by_role("status")).to_contain_text("Patient discharged")
    patient.refresh_from_db()
    assert (patient.date_of_death, patient.time_of_death) == (died.date(), died.time())


def test_transfer_shows_where_the_patient_is_and_asks_why(
    live_server, log_in, clerk, admitted, other_ward, other_bed
):
    page = log_in(clerk.username)
    page.goto(f"/patients/{admitted.patient_id}/")
    page.get_by_role("link", name="Transfer", exact=True).click()
    current = page.get_by_test_id("current-place")
    expect(current).to_contain_text("Ward 7")
    expect(current).to_contain_text("Bay A bed 1")
    expect(page.locator("a.nhsuk-back-link")).to_have_attribute("href", f"/patients/{admitted.patient_id}/")
    expect(page.get_by_role("link", name="Cancel")).to_have_attribute(
        "href", f"/patients/{admitted.patient_id}/"
    )
    page.get_by_label(field("Ward")).select_option(label=other_ward.name)
    expect(page.locator("#id_bed option", has_text="Bay B 1")).to_be_attached()
    page.locator("#id_bed").select_option(label="Bay B 1")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator("#reason-error")).to_contain_text("Enter the reason for the transfer")
    _look(page, "transfer")
    page.get_by_label(field("Reason for the transfer")).fill("Needs a side room")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Transferred to {other_ward.name}")
    assert WardStay.objects.get(encounter=admitted, ended_at__isnull=True).reason == "Needs a side room"
