"""Error handling as a user meets it, and a manager's first look: a form submitted empty puts the focus
on a field-specific error summary; a missing page is the NHS.UK 404; the manager lands on the bed state,
reviews a break-glass use with an outcome and follows the link to that patient's access log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from records import services

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/errors")  # noqa: S108 - screenshots to look at, not data
WIDTHS = {"desktop": 1280, "tablet": 800, "phone": 390}
SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


def _shoot(page, name: str) -> None:
    """Screenshots at the three widths staff use, and no sideways scrolling on any of them."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        assert not page.evaluate(SCROLLS_SIDEWAYS), f"{name} scrolls sideways at {width}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_empty_form_focuses_a_field_specific_error_summary(
    transactional_db, live_server, log_in, nurse, admitted
):
    page = log_in(nurse.username)
    page.goto(f"/patients/{admitted.patient_id}/care-plans/new/")
    page.get_by_role("button", name="Save").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    # nhsuk-frontend (started by static/js/epr.js) moves the focus to the summary on load.
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(summary).to_contain_text("Enter the problem or need")
    expect(page.get_by_text("This field is required.")).to_have_count(0)
    # The summary's link takes the user to the field.
    summary.get_by_role("link", name="Enter the goals").click()
    expect(page.get_by_label(re.compile("^Goals"))).to_be_focused()
    _shoot(page, "careplan-errors")

    # A mistyped address is the NHS.UK page with a way back, not a list of URL patterns.
    page.goto("/patients/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("URLconf")).to_have_count(0)
    _shoot(page, "not-found")
    page.get_by_role("link", name="Go to the home page").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_refusal_page_goes_back_where_the_user_was(transactional_db, live_server, log_in, nurse, other_ward):
    page = log_in(nurse.username)
    page.get_by_role("link", name="Ward list").click()
    ward_list = page.url
    page.goto(f"/wards/{other_ward.pk}/")
    expect(page.get_by_role("heading", name="You cannot do this")).to_be_visible()
    expect(page.get_by_text("You do not work on that ward.")).to_be_visible()
    _shoot(page, "refused")
    # static/js/epr.js makes "Go back" use the browser's history.
    page.get_by_role("link", name="Go back").click()
    expect(page).to_have_url(ward_list)


def test_manager_reviews_break_glass_and_opens_the_access_log(
    transactional_db, live_server, log_in, manager, outsider, admitted, second_bed
):
    services.break_glass_start(user=outsider, patient=admitted.patient, reason="Covering the ward tonight")
    page = log_in(manager.username)

    # The manager lands on the bed state of every ward.
    expect(page.get_by_role("heading", name="Bed state")).to_be_visible()
    ward_row = page.get_by_test_id("ward-W7")
    expect(ward_row.get_by_test_id("free")).to_contain_text("1")
    expect(ward_row.get_by_test_id("admitted")).to_contain_text("1")
    _shoot(page, "bed-state")

    page.get_by_role("link", name="Break-glass review").click()
    use = page.get_by_test_id("break-glass-use")
    expect(use).to_contain_text("SMITH, John")
    expect(use).to_contain_text("999 000 0018")
    expect(use).to_contain_text("Covering the ward tonight")
    _shoot(page, "break-glass-review")
    use.get_by_role("link", name=re.compile("^Review")).click()

    # Inappropriate needs a note for the Caldicott guardian: refused with a specific error first.
    page.get_by_label("Inappropriate: refer to the Caldicott guardian").check()
    page.get_by_role("button", name="Record review").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Enter why the access was inappropriate, for the Caldicott guardian"
    )
    expect(page).to_have_title(re.compile(r"^Error: "))
    _shoot(page, "break-glass-review-error")
    page.get_by_label("Inappropriate: refer to the Caldicott guardian").check()
    page.get_by_label(re.compile("^Note")).fill("Not on shift that night; the patient is a neighbour")
    page.get_by_role("button", name="Record review").click()

    expect(page.get_by_role("heading", name="Break-glass review")).to_be_visible()
    expect(page.get_by_test_id("review-outcome")).to_contain_text("Inappropriate")
    page.get_by_test_id("access-log-link").click()

    expect(page.get_by_role("heading", name="Who accessed this record")).to_be_visible()
    log = page.get_by_test_id("access-log")
    expect(log).to_contain_text("Break-glass access")
    expect(log).to_contain_text(outsider.username)
    _shoot(page, "access-log")

    # Filter to the outsider's rows only.
    page.get_by_label("User").select_option(outsider.username)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("access-log").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("access-log")).to_contain_text(outsider.username)
