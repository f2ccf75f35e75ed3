"""The Alerts page as a busy ward uses it, in chromium on a ward tablet and a phone.

Against the code before this change each check here failed: routine overdue alerts came first (sorted by
time raised), every high set stacked another alert, and an urgent alert was acknowledged with no response.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from records import services
from records.models import AlertStatus, ClinicalAlert
from tests.factories import BedFactory, PatientFactory
from tests.vitals import NINE, RED_SCORE

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/lead")  # noqa: S108 - screenshots to look at, not data
TABLET = {"width": 800, "height": 1100}
PHONE = {"width": 390, "height": 844}


def admit(name: str, ward, doctor, team, by, bed):
    patient = PatientFactory(family_name=name, given_names="Test")
    services.encounter_admit(
        admitted_by=by,
        patient=patient,
        ward=ward,
        bed=BedFactory(bay=bed.bay, label=name),
        consultant=doctor,
        team=team,
        specialty="300",
        admission_method="21",
        admitted_at=timezone.now() - timedelta(hours=30),
    )
    return patient


def record(patient, by, values, minutes_ago: int = 0):
    obs = services.observation_set_record(
        recorded_by=by, patient=patient, taken_at=timezone.now() - timedelta(minutes=minutes_ago), **values
    )
    services.alert_raise_for_set(obs=obs)
    return obs


def rows(page: Page):
    return page.get_by_test_id("alert-row")


def no_sideways_scroll(page: Page) -> None:
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    scrolls = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not scrolls, f"the page scrolls sideways; wider than the screen: {wide}"


def test_urgent_first_one_alert_per_patient_and_a_response_before_it_is_answered(
    log_in, axe, ward, bed, doctor, team, nurse, colleague, clerk
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    routine = [admit(n, ward, doctor, team, clerk, bed) for n in ("Adams", "Baker", "Clarke")]
    assert routine  # observations never done since admission: a routine "overdue" alert each, raised first
    services.raise_overdue_observation_alerts()
    amber = admit("Davies", ward, doctor, team, clerk, bed)
    record(amber, colleague, RED_SCORE, minutes_ago=50)
    urgent = admit("Evans", ward, doctor, team, clerk, bed)
    for minutes_ago in (40, 30, 20, 10):  # four high sets: still one alert
        record(urgent, colleague, NINE, minutes_ago=minutes_ago)
    assert ClinicalAlert.objects.filter(patient=urgent).count() == 1

    page = log_in(nurse.username)
    page.set_viewport_size(TABLET)
    expect(page.get_by_test_id("alerts-urgent")).to_have_text("1 urgent")
    page.get_by_test_id("alerts-link").click()
    expect(rows(page)).to_have_count(5)
    expect(rows(page).first).to_contain_text("Evans")
    expect(rows(page).first).to_contain_text("NEWS2 9")
    expect(rows(page).nth(1)).to_contain_text("Davies")  # the amber NEWS2 before routine overdue obs
    expect(rows(page).nth(4)).to_contain_text("Obs overdue")
    page.screenshot(path=str(SHOTS / "alerts-tablet.png"), full_page=True)
    no_sideways_scroll(page)
    axe(page, context="alerts page on a tablet")

    # An empty acknowledgement of the urgent alert is refused, field by field.
    rows(page).first.get_by_role("link", name="Respond").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("NEWS2 9")
    expect(page.get_by_test_id("alert-history")).to_contain_text("Updated with a new score")
    page.get_by_label("Who did you inform?").fill("")
    page.get_by_role("button", name="Record response").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Enter the name of the clinician or team you informed")
    expect(summary).to_contain_text("Select what happened")
    assert page.title().startswith("Error:")
    assert ClinicalAlert.objects.get(patient=urgent).status == AlertStatus.OPEN
    axe(page, context="alert response page with errors")

    page.get_by_label("Who did you inform?").fill("Dr Khan, medical registrar")
    page.get_by_label("Review requested (awaiting the clinician)").check()
    page.get_by_role("button", name="Record response").click()
    expect(page.get_by_role("status")).to_contain_text("awaiting review by Dr Khan")
    first = rows(page).first
    expect(first).to_contain_text("Review by Dr Khan, medical registrar")
    expect(first.get_by_role("link", name="Record review")).to_be_visible()

    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "alerts-phone.png"), full_page=True)

    # The doctor records the review: the alert leaves the list, its history kept.
    page = log_in(doctor.username)
    page.goto("/alerts/")
    evans = rows(page).filter(has_text="Evans")
    evans.get_by_role("link", name="Record review").click()
    page.get_by_label("Outcome of the review, or the plan").fill("Sepsis six started; for HDU review")
    page.get_by_role("button", name="Record review").click()
    expect(rows(page).filter(has_text="Evans")).to_have_count(0)
    alert = ClinicalAlert.objects.get(patient=urgent)
    assert alert.status == AlertStatus.REVIEWED
    assert alert.informed == "Dr Khan, medical registrar" and alert.outcome == "review_requested"
    assert alert.triggers.count() == 4
