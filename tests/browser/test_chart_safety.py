"""The NEWS2 chart in a real browser never hides the last score, says when observations are due, and
keeps its frozen columns opaque while the sets scroll beneath them.

Found in use: a set of two parameters made "Latest NEWS2" vanish while the page said "Observations saved"
in green; a patient last observed two days ago looked no different from one observed an hour ago; and a
scrolled chart showed "96/67" as "6/67" beside the frozen columns.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from records import services
from tests.browser.support import field

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/chart")  # noqa: S108 - screenshots to look at, not data
WIDTHS = {"desktop": 1280, "tablet": 800, "phone": 390}
GREEN = "rgb(0, 127, 59)"  # the success message's border (#007f3b)
NEWS2_3 = {  # low risk, no red score: minimum 4-6-hourly
    "respiration_rate": 22,  # 2
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 125,
    "diastolic_bp": 80,
    "pulse": 72,
    "consciousness": "A",
    "temperature": "38.5",  # 1
}


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{name} scrolls sideways at {width} px: {widths}"


def column_edges(page: Page) -> dict[str, float]:
    """Where the frozen columns end, and the first and last set columns in view begin and end."""
    return page.evaluate(
        """() => {
            const wrap = document.querySelector('#news2-chart-scroll');
            const box = wrap.getBoundingClientRect();
            const frozen = document.querySelector('thead th.epr-sticky-2').getBoundingClientRect().right;
            const heads = document.querySelectorAll('thead th.epr-chart__time, thead th.epr-chart__gap');
            const rects = [...heads].map(th => th.getBoundingClientRect());
            const shown = rects.filter(r => r.right > frozen + 1 && r.left < box.right);
            return {scroll: wrap.scrollLeft, frozen, first: shown[0].left, oldest: rects[0].left,
                    last: rects[rects.length - 1].right, wrapRight: box.left + wrap.clientWidth};
        }"""
    )


def test_incomplete_set_keeps_the_last_score_and_warns_in_amber(
    transactional_db, live_server, log_in, axe, admitted, nurse
):
    patient = admitted.patient
    page = log_in(nurse.username)

    # A complete set scoring 3: respiration 22 (2) and temperature 38.5 (1), everything else normal.
    page.goto(f"/patients/{patient.pk}/observations/new/")
    page.get_by_label(field("Respiration rate (breaths/min)")).fill("22")
    page.get_by_label(field("SpO2 (%)")).fill("97")
    page.get_by_label(field("Air or oxygen?")).select_option(label="Air")
    page.get_by_label(field("Systolic BP (mmHg)")).fill("125")
    page.get_by_label(field("Diastolic BP (mmHg)")).fill("80")
    page.get_by_label(field("Pulse (beats/min)")).fill("72")
    page.get_by_label(field("Consciousness (ACVPU)")).select_option(label="A – Alert")
    page.get_by_label(field("Temperature (°C)")).fill("38.5")
    page.get_by_role("button", name="Save and score NEWS2").click()
    expect(page.get_by_test_id("news2-latest")).to_contain_text("Latest NEWS2 3")
    scored = patient.observation_sets.get()
    scored_time = timezone.localtime(scored.taken_at).strftime("%H:%M")

    # Then a set of two parameters: pulse, and air.
    page.get_by_role("link", name="Record observations").click()
    page.get_by_label(field("Pulse (beats/min)")).fill("88")
    page.get_by_label(field("Air or oxygen?")).select_option(label="Air")
    page.get_by_role("button", name="Save and score NEWS2").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/observations/$"))
    message = page.locator(".epr-message")
    expect(message).to_have_text(
        "Observations saved. NEWS2 not scored: the set has no respiration rate, SpO2, systolic BP, "
        "consciousness or temperature."
    )
    expect(message).to_have_class(re.compile(r"\bepr-message--warning\b"))
    border = message.evaluate("e => getComputedStyle(e).borderLeftColor")
    assert border != GREEN, "an unscored set is a warning, not a green success"
    assert border == "rgb(255, 184, 28)", border  # NHS warm yellow (amber), #ffb81c

    latest = page.get_by_test_id("news2-latest")
    expect(latest).to_contain_text("Latest NEWS2 3")
    expect(latest).to_contain_text("Minimum 4-6-hourly")
    expect(page.get_by_test_id("news2-latest-time")).to_contain_text(scored_time)
    expect(page.get_by_test_id("news2-latest-unscored")).to_contain_text(
        "was not scored: it has no respiration rate, SpO2, systolic BP, consciousness or temperature"
    )

    chart = page.get_by_test_id("news2-chart")
    headers = chart.locator("thead th.epr-chart__time")
    expect(headers).to_have_count(2)
    expect(headers.first).not_to_contain_text("Not scored")
    expect(headers.last).to_contain_text("Not scored")
    expect(chart.locator("tr.epr-chart__total td")).to_have_text(["3", "Not scored"])
    for width in WIDTHS.values():  # both sets in view beside the frozen columns, none scrolled under them
        page.set_viewport_size({"width": width, "height": 900})
        view = column_edges(page)
        assert view["oldest"] >= view["frozen"] - 1 or width < 500, view
        assert abs(view["first"] - view["frozen"]) <= 1.5, view
    expect(page.get_by_test_id("obs-due")).to_contain_text("Next observations due")
    expect(page.get_by_test_id("obs-due")).to_contain_text("Last complete observations")
    axe(page, context="NEWS2 chart with an unscored set")
    shoot(page, "incomplete")


def test_observations_two_days_old_are_shown_overdue(
    transactional_db, live_server, log_in, axe, admitted, nurse
):
    # A red score (respiration 30) sets hourly observations; none have been taken for two days.
    services.observation_set_record(
        recorded_by=nurse,
        patient=admitted.patient,
        taken_at=timezone.now() - timedelta(days=2),
        **{**NEWS2_3, "respiration_rate": 30, "temperature": "37.0"},
    )
    page = log_in(nurse.username)
    page.goto(f"/patients/{admitted.patient.pk}/observations/")
    due = page.get_by_test_id("obs-due")
    expect(due).to_contain_text("Observations overdue by 1 day 23 hours")
    expect(due).to_contain_text("Last observations 2 days ago; due every hour")
    # "on 30 Nov", or "yesterday" when the due time fell yesterday (a run just before midnight)
    expect(due).to_contain_text(re.compile(r"\(due \d\d:\d\d (on \d{1,2} [A-Z][a-z]{2}|yesterday)\)"))
    expect(page.get_by_test_id("news2-latest")).to_contain_text("Latest NEWS2 3")
    axe(page, context="NEWS2 chart, observations overdue")
    shoot(page, "overdue")


def test_frozen_columns_are_opaque_over_scrolled_values_and_gaps_are_shown(
    transactional_db, live_server, log_in, axe, admitted, nurse
):
    now = timezone.now()
    # Three days of silence, then a day of 4-hourly sets: the chart is wider than a tablet.
    for hours in [24 * 5, 24 * 5 - 4, *range(32, 0, -4)]:
        services.observation_set_record(
            recorded_by=nurse,
            patient=admitted.patient,
            taken_at=now - timedelta(hours=hours),
            **{**NEWS2_3, "systolic_bp": 96, "diastolic_bp": 67},  # "96/67", the value once half-hidden
        )
    page = log_in(nurse.username)
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"/patients/{admitted.patient.pk}/observations/")

    chart = page.get_by_test_id("news2-chart")
    expect(chart.locator("thead th.epr-chart__gap")).to_have_text(["No observations for 3 days 12 hours"])
    for header in chart.locator("th").all():
        assert header.inner_text().strip(), "every table header has text"

    scroller = page.locator("#news2-chart-scroll")
    # The chart opens on the newest set wholly in view at the right, and no set half under the frozen
    # columns at the left: on a ward tablet and on a phone.
    for width in (800, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        view = column_edges(page)
        assert view["scroll"] > 0, view
        assert view["last"] <= view["wrapRight"] + 1, view
        assert abs(view["first"] - view["frozen"]) <= 1.5, view
    page.set_viewport_size({"width": 800, "height": 900})
    expect(scroller).to_have_attribute("tabindex", "0")
    expect(scroller).to_have_attribute("role", "region")
    expect(scroller).to_have_attribute("aria-label", re.compile("NEWS2 chart"))
    scroller.focus()
    expect(scroller).to_be_focused()

    # Scroll to part-way through a column, so values pass beneath the frozen columns.
    scroller.evaluate("e => { e.scrollLeft = 0; e.scrollLeft = 137; }")
    page.wait_for_timeout(300)
    assert scroller.evaluate("e => e.scrollLeft") > 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    scroller.screenshot(path=str(SHOTS / "scrolled-chart-800.png"))
    sticky = chart.locator("th.epr-sticky-1, th.epr-sticky-2, th.epr-sticky-both")
    assert sticky.count() > 20
    for cell in sticky.all():
        background = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        assert re.fullmatch(r"rgb\(\d+, \d+, \d+\)", background), (
            f"frozen cell {cell.inner_text()!r} has a see-through background {background}"
        )
    # Nothing of a scrolled value shows beside the frozen columns: the sets snap to a whole column.
    edges = column_edges(page)
    assert abs(edges["first"] - edges["frozen"]) <= 1.5, edges
    axe(page, context="NEWS2 chart with a gap, scrolled")
    shoot(page, "scrolled")
