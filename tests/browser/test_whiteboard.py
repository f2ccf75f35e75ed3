"""The ward list as a whiteboard and the patient page's clinical summary, in chromium on a ward tablet and a
phone. Before this change the ward list had no clinical column, the patient page opened on demographics,
and the banner had no resuscitation status, weight or SpO2 scale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from records import services
from tests.factories import BedFactory, PatientFactory
from tests.vitals import NORMAL, SEVEN

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/lead")  # noqa: S108 - screenshots to look at, not data
TABLET = {"width": 800, "height": 1100}
PHONE = {"width": 390, "height": 844}


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_the_ward_list_is_a_whiteboard_and_the_patient_opens_on_a_summary(
    log_in, axe, admitted, ward, bed, doctor, nurse, colleague, clerk
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    sick = admitted.patient
    for minutes, values in ((360, NORMAL), (100, SEVEN)):
        obs = services.observation_set_record(
            recorded_by=colleague, patient=sick, taken_at=now - timedelta(minutes=minutes), **values
        )
        services.alert_raise_for_set(obs=obs)
    services.observation_set_record(recorded_by=colleague, patient=sick, weight=Decimal("58.2"))
    services.allergy_record(recorded_by=doctor, patient=sick, substance_text="Penicillin", kind="allergy")
    services.escalation_plan_record(
        recorded_by=doctor,
        patient=sick,
        cpr_decision="dnacpr",
        escalation_level="ward",
        decided_by="Dr Dee, consultant",
        discussed_with="The patient",
    )
    well = PatientFactory(family_name="Wellbeing", given_names="Wendy")
    services.encounter_admit(
        admitted_by=clerk,
        patient=well,
        ward=ward,
        bed=BedFactory(bay=bed.bay, label="2"),
        consultant=doctor,
        team=admitted.team,
        specialty="300",
        admission_method="21",
    )
    services.observation_set_record(recorded_by=colleague, patient=well, **NORMAL)

    page = log_in(nurse.username)
    page.set_viewport_size(TABLET)
    page.goto("/wards/?sort=news2")
    rows = page.get_by_test_id("whiteboard-row")
    expect(rows.first).to_contain_text(sick.display_name)
    news2 = rows.first.get_by_test_id("whiteboard-news2")
    expect(news2).to_contain_text("7")
    expect(news2).to_contain_text("rising from 0")
    expect(rows.first).to_contain_text("Overdue")  # continuous monitoring: due 30 minutes after the set
    expect(rows.first).to_contain_text("1 urgent")
    expect(rows.first).to_contain_text("DNACPR")
    expect(rows.first.locator(".nhsuk-tag", has_text="Allergies")).to_be_visible()
    expect(rows.nth(1)).to_contain_text(well.display_name)
    nhs = rows.first.locator(".epr-nowrap", has_text=sick.nhs_number_display)
    assert nhs.evaluate("e => e.getClientRects().length") == 1  # the NHS number never wraps
    page.screenshot(path=str(SHOTS / "whiteboard-tablet.png"), full_page=True)
    assert not scrolls_sideways(page)
    axe(page, context="ward whiteboard on a tablet")

    rows.first.get_by_role("link", name=sick.display_name).click()
    assert page.title().startswith(f"{sick.display_name} {sick.nhs_number_display}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(sick.display_name)
    expect(page.get_by_test_id("summary-news2")).to_contain_text("NEWS2 7")
    expect(page.get_by_test_id("summary-news2")).to_contain_text("overdue")
    expect(page.get_by_test_id("summary-alerts")).to_contain_text("NEWS2 7")
    banner = page.get_by_test_id("patient-banner")
    expect(banner.get_by_test_id("banner-tep")).to_have_text("DNACPR; ward-based care, not for ICU")
    expect(banner.get_by_test_id("banner-weight")).to_contain_text("58.2 kg")
    expect(
        page.get_by_role("navigation", name="Patient record").get_by_role("link", name="Summary")
    ).to_have_attribute("aria-current", "page")
    page.screenshot(path=str(SHOTS / "summary-tablet.png"), full_page=True)
    assert not scrolls_sideways(page)
    axe(page, context="clinical summary on a tablet")

    page.get_by_role("link", name="Details").click()
    expect(page.get_by_role("heading", name="Admissions")).to_be_visible()

    page.set_viewport_size(PHONE)
    page.goto("/wards/")
    page.screenshot(path=str(SHOTS / "whiteboard-phone.png"), full_page=True)
    assert not scrolls_sideways(page)
    page.goto(f"/patients/{well.pk}/")
    expect(page.get_by_test_id("banner-allergies")).to_contain_text("allergies not yet recorded")
    expect(page.get_by_test_id("banner-tep")).to_have_text("CPR and escalation not recorded")
    page.screenshot(path=str(SHOTS / "summary-phone.png"), full_page=True)
    assert not scrolls_sideways(page)
    axe(page, context="clinical summary on a phone")
