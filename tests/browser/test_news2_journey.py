"""NEWS2 in a real browser: the HCA records a high-scoring set, the alert reaches the ward and the team.

The alert is raised by the Celery task queued with transaction.on_commit; the test settings run tasks
eagerly, so it runs inside the live server's request thread when the set is committed.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from records import services
from records.models import ClinicalAlert, ObservationSet
from tests.browser.support import field

pytestmark = pytest.mark.browser

HIGH_RISK = "NEWS2 7 (high risk). Continuous monitoring of vital signs. Emergency response"
TABLET = {"width": 768, "height": 1024}
EARLIER_SETS = 11  # two days of 4-hourly sets: with the new one the chart is wider than a tablet
NEWS2_0 = {
    "respiration_rate": 16,
    "spo2": 98,
    "on_oxygen": False,
    "systolic_bp": 130,
    "diastolic_bp": 78,
    "pulse": 72,
    "consciousness": "A",
    "temperature": "36.8",
}
NEWS2_7 = {
    "respiration_rate": 22,
    "spo2": 97,
    "on_oxygen": True,
    "oxygen_device": "nasal",
    "oxygen_flow": 2,
    "systolic_bp": 125,
    "diastolic_bp": 80,
    "pulse": 115,
    "consciousness": "A",
    "temperature": "38.5",
}


def urgent_badge(page: Page):
    return page.get_by_test_id("alerts-link").get_by_test_id("alerts-urgent")


def record_earlier_sets(patient, by, count: int) -> None:
    now = timezone.now()
    for hours in range(4 * count, 0, -4):
        services.observation_set_record(
            recorded_by=by, patient=patient, taken_at=now - timedelta(hours=hours), **NEWS2_0
        )


def test_high_news2_set_alerts_the_team_and_the_nurse_in_charge_acknowledges(
    transactional_db, live_server, log_in, axe, admitted, patient, nurse, colleague, doctor
):
    name = patient.display_name  # "SMITH, John"
    record_earlier_sets(patient, nurse, EARLIER_SETS)
    assert not ClinicalAlert.objects.exists()

    # Bob, the healthcare assistant, opens the patient from his ward list and records a set.
    page = log_in(colleague.username)
    axe(page, context="HCA's ward list")
    page.get_by_test_id("ward-list").get_by_role("row").filter(has_text="Bay A 1").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    axe(page, context="patient page")
    page.get_by_role("link", name="Observations", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/observations/$"))
    expect(page.get_by_test_id("news2-latest")).to_contain_text("Latest NEWS2 0")
    axe(page, context="observations chart, NEWS2 0")
    page.get_by_role("link", name="Record observations").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Record observations")
    axe(page, context="record observations form")
    page.get_by_label(field("Respiration rate (breaths/min)")).fill("22")  # 2
    page.get_by_label(field("SpO2 (%)")).fill("97")  # 0 on Scale 1
    page.get_by_label(field("Air or oxygen?")).select_option(label="Oxygen")  # 2
    page.get_by_label(field("Oxygen device")).select_option(label="Nasal cannula")
    page.get_by_label(field("Oxygen flow (L/min)")).fill("2")
    page.get_by_label(field("Systolic BP (mmHg)")).fill("125")  # 0
    page.get_by_label(field("Diastolic BP (mmHg)")).fill("80")
    page.get_by_label(field("Pulse (beats/min)")).fill("115")  # 2
    page.get_by_label(field("Consciousness (ACVPU)")).select_option(label="A – Alert")  # 0
    page.get_by_label(field("Temperature (°C)")).fill("38.5")  # 1
    axe(page, context="record observations form filled in, on oxygen")
    page.get_by_role("button", name="Save and score NEWS2").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/observations/$"))
    expect(page.get_by_role("alert")).to_contain_text(HIGH_RISK)
    latest = page.get_by_test_id("news2-latest")
    expect(latest).to_contain_text("Latest NEWS2 7")
    expect(latest).to_contain_text("high risk")
    chart = page.get_by_test_id("news2-chart")
    expect(chart.locator("thead th.epr-chart__time")).to_have_count(EARLIER_SETS + 1)
    totals = chart.locator("tr.epr-chart__total td")
    expect(totals).to_have_text(["0"] * EARLIER_SETS + ["7"])
    expect(totals.last).to_have_class(re.compile(r"\bepr-risk--high\b"))
    axe(page, context="observations chart after a NEWS2 7 set")

    obs = ObservationSet.objects.filter(patient=patient).latest("taken_at")
    assert obs.news2_total == 7
    assert obs.recorded_by == colleague
    # The on_commit hook ran the eager task in the live server thread before the redirect was answered.
    alert = ClinicalAlert.objects.get(patient=patient)
    assert (alert.key, alert.severity, alert.status) == (f"news2:{obs.pk}", "urgent", "open")

    # A tablet on the ward: the chart scrolls inside its own box, the page itself does not scroll sideways.
    page.set_viewport_size(TABLET)
    page.reload()
    expect(chart).to_be_visible()
    widths = page.evaluate(
        """() => {
            const wrap = document.querySelector('.epr-table-wrap');
            return {
                page: document.documentElement.scrollWidth,
                viewport: document.documentElement.clientWidth,
                wrapRight: wrap.getBoundingClientRect().right,
                wrapScroll: wrap.scrollWidth,
                wrapClient: wrap.clientWidth,
            };
        }"""
    )
    assert widths["page"] <= widths["viewport"], widths
    assert widths["wrapRight"] <= widths["viewport"], widths
    assert widths["wrapScroll"] > widths["wrapClient"], widths  # the chart really is wider: it scrolls
    axe(page, context="observations chart on a tablet")
    page.screenshot(path="/tmp/news2_chart.png", full_page=True)  # noqa: S108 - a look at the page, not data

    # Dr Dee's team treats the patient: the alert is on the doctor's list while it waits.
    page = log_in(doctor.username)
    expect(urgent_badge(page)).to_have_text("1 urgent")
    axe(page, context="doctor's landing page with an urgent alert badge")
    page.get_by_test_id("alerts-link").click()
    waiting = page.get_by_test_id("alert-row").filter(has_text=name)
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("NEWS2 7")
    expect(waiting).to_contain_text("Urgent")
    axe(page, context="doctor's alerts page")

    # Alice, the nurse in charge on Ward 7, sees the badge, informs the registrar and records it.
    page = log_in(nurse.username)
    expect(urgent_badge(page)).to_have_text("1 urgent")
    axe(page, context="nurse's ward list with an urgent alert badge")
    page.get_by_test_id("alerts-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts for your wards and teams")
    waiting = page.get_by_test_id("alert-row").filter(has_text=name)
    expect(waiting).to_have_count(1)
    expect(waiting.locator(".nhsuk-tag--red")).to_have_text("NEWS2 7")
    expect(waiting).to_contain_text(patient.nhs_number_display)
    page.set_viewport_size(TABLET)
    axe(page, context="nurse's alerts page on a tablet")
    page.screenshot(path="/tmp/alerts.png", full_page=True)  # noqa: S108 - a look at the page, not data

    waiting.get_by_role("link", name="Respond").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("NEWS2 7 – urgent alert")
    expect(page.get_by_test_id("alert-summary")).to_contain_text("NEWS2 7. Emergency response")
    axe(page, context="alert response page")
    informed = "Dr Dee's registrar"
    note = "Registrar attended in 10 minutes; sepsis screen started"
    page.get_by_label("Who did you inform?").fill(informed)
    page.get_by_label("Reviewed by the clinician").check()
    page.get_by_label("Action taken").fill(note)
    page.get_by_role("button", name="Record response").click()

    expect(page.get_by_role("status")).to_have_text(f"Alert for {name} answered.")
    expect(page.get_by_test_id("alert-list")).to_have_count(0)
    expect(page.get_by_text("No alerts are waiting.")).to_be_visible()
    expect(urgent_badge(page)).to_have_count(0)
    expect(page.get_by_role("heading", name="Recently answered")).to_be_visible()
    done = page.get_by_role("row").filter(has_text=name)
    expect(done).to_contain_text("NEWS2 7")
    expect(done).to_contain_text(str(nurse))
    expect(done).to_contain_text(f"Reviewed by the clinician – {note}")
    axe(page, context="alerts page after answering")
    page.screenshot(path="/tmp/alerts_acknowledged.png", full_page=True)  # noqa: S108

    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.informed, alert.outcome, alert.response_note) == (
        "acknowledged",
        nurse,
        informed,
        "reviewed",
        note,
    )


def test_high_risk_summary_on_the_chart_is_readable(
    transactional_db, live_server, log_in, axe, admitted, nurse
):
    services.observation_set_record(recorded_by=nurse, patient=admitted.patient, **NEWS2_7)

    page = log_in(nurse.username)
    page.goto(f"/patients/{admitted.patient.pk}/observations/")
    latest = page.get_by_test_id("news2-latest")
    expect(latest).to_contain_text("Latest NEWS2 7")
    color, background = latest.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    )
    assert color != background, f"text {color} on background {background}"
    axe(page, context="observations chart with a high-risk summary")
