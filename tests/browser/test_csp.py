"""The Content-Security-Policy in a real browser: the main pages load with no violation reported
(no inline script, handler or style left in a template or injected by htmx or nhsuk-frontend), and
htmx still fills the admit form's bed list under the policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/headers")  # noqa: S108 - screenshots to look at, not test data
PASSWORD = "correct-horse-battery-staple"
# Records every violation the page reports, including those raised before Playwright's listeners attach.
_LISTEN = """document.addEventListener('securitypolicyviolation', e => {
    (window.__cspViolations = window.__cspViolations || []).push(
        e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});"""


def _watched_page(browser: Browser, base_url: str) -> tuple[Page, list[str]]:
    context = browser.new_context(base_url=base_url)
    context.add_init_script(_LISTEN)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if "Content Security Policy" in m.text or "Permissions" in m.text
            else None
        ),
    )
    return page, problems


def _violations(page: Page, problems: list[str]) -> list[str]:
    return problems + page.evaluate("() => window.__cspViolations || []")


def _log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_main_pages_report_no_policy_violation(transactional_db, live_server, browser, admitted, nurse):
    page, problems = _watched_page(browser, live_server.url)
    page.goto("/accounts/login/")
    assert "script-src 'self'" in (page.request.get("/accounts/login/").headers["content-security-policy"])
    _log_in(page, nurse.username)
    patient_id = admitted.patient_id
    for name, url in [
        ("ward-list", "/wards/"),
        ("summary", f"/patients/{patient_id}/"),
        ("chart", f"/patients/{patient_id}/observations/"),
        ("alerts", "/alerts/"),
        ("observations-form", f"/patients/{patient_id}/observations/new/"),
    ]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert not _violations(page, problems), f"{name}: {_violations(page, problems)}"
    # A form with an error: the error summary is focused by nhsuk-frontend's script, under the policy.
    page.get_by_role("button", name=re.compile("Save|Record", re.I)).first.click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()
    assert not _violations(page, problems), _violations(page, problems)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in {"desktop": 1280, "tablet": 800, "phone": 390}.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"form-error-{label}.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # The JSON APIs' Swagger UI, from the site's own files.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/api/docs/")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name=re.compile("EPR JSON APIs"))).to_be_visible()
    assert not _violations(page, problems), f"api docs: {_violations(page, problems)}"
    page.screenshot(path=str(SHOTS / "api-docs.png"))


def test_htmx_fills_the_bed_list_under_the_policy(
    transactional_db, live_server, browser, patient, ward, bed, clerk
):
    page, problems = _watched_page(browser, live_server.url)
    _log_in(page, clerk.username)
    page.goto(f"/patients/{patient.pk}/admit/")
    page.locator("#id_ward").select_option(label=ward.name)
    expect(page.locator("#id_bed").locator("option", has_text="Bay A 1")).to_be_attached()
    # htmx was told not to inject its indicator <style>, which the policy would refuse.
    assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False
    assert not _violations(page, problems), _violations(page, problems)
