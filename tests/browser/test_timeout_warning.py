"""The timeout warning: before the idle logout a dialog offers to stay logged in; staying keeps the
session, and with no answer the page logs itself out at the timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/otp")  # noqa: S108 - screenshots to look at, not data
WIDTHS = {"desktop": 1280, "tablet": 800, "phone": 390}
# A 6-second idle timeout: the warning opens halfway (it is two minutes before for the real 30 minutes).
IDLE_SECONDS = 6


def _look(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def short_idle(settings):
    settings.SESSION_COOKIE_AGE = IDLE_SECONDS


def test_the_warning_offers_to_stay_logged_in_and_staying_keeps_the_session(
    short_idle, live_server, log_in, nurse, admitted
):
    page = log_in(nurse.username)
    page.goto("/wards/")
    dialog = page.get_by_role("dialog", name="You're about to be logged out")
    expect(dialog).to_be_visible(timeout=IDLE_SECONDS * 1000)
    expect(dialog.get_by_role("button", name="Stay logged in")).to_be_focused()
    _look(page, "timeout-warning")

    with page.expect_response("**/accounts/keepalive/") as keepalive:
        dialog.get_by_role("button", name="Stay logged in").click()
    assert keepalive.value.status == 204
    expect(dialog).to_be_hidden()
    # Past the first timeout: still logged in, because staying renewed the session.
    page.wait_for_timeout(IDLE_SECONDS * 1000 // 2 + 500)
    expect(page.get_by_role("button", name="Log out").first).to_be_visible()


def test_with_no_answer_the_page_logs_out_at_the_timeout(short_idle, live_server, log_in, nurse, admitted):
    page = log_in(nurse.username)
    page.goto("/wards/")

    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=(IDLE_SECONDS + 3) * 1000)
    assert "/accounts/login/" in page.url
