"""An administrator in a real browser: with the password alone every page leads back to the TOTP page
and the session's cookie reads nothing from the FHIR API; passing the code gives a new session cookie.
A session past its absolute lifetime is logged out with a message on the login page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from epr.accounts.middleware import LOGIN_AT_SESSION_KEY

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/otp")  # noqa: S108 - screenshots to look at, not data
WIDTHS = {"desktop": 1280, "tablet": 800, "phone": 390}


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


def _session_cookie(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)


def test_an_administrator_gets_nothing_before_the_code_and_a_new_session_after(
    live_server, log_in, admin_user, patient
):
    device = TOTPDevice.objects.create(user=admin_user, name="Authenticator", confirmed=True)
    page = log_in(admin_user.username)
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    pre_otp_cookie = _session_cookie(page)

    page.goto("/patients/")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    # The same cookie, used by a script in the page, reads nothing from the API.
    status = page.evaluate(f"fetch('/fhir/Patient/{patient.pk}').then(r => r.status)")
    assert status == 401
    _look(page, "second-factor")

    page.get_by_label("6-digit code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(f"{live_server.url}/patients/")
    assert _session_cookie(page) != pre_otp_cookie
    assert page.evaluate(f"fetch('/fhir/Patient/{patient.pk}').then(r => r.status)") == 200


def test_a_session_past_its_lifetime_is_logged_out_with_a_message(live_server, log_in, nurse, admitted):
    page = log_in(nurse.username)
    session = SessionStore(session_key=_session_cookie(page))
    session[LOGIN_AT_SESSION_KEY] = time.time() - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()

    page.goto("/wards/")

    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_text("your session reached its time limit")).to_be_visible()
    _look(page, "session-time-limit")
