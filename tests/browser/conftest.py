"""Playwright against pytest-django's live server, driving Debian's chromium (CI installs it).

Each user gets a fresh browser context (their own cookies), so one journey can log in as several staff.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.axe import assert_accessible

# The sync API runs an event loop in the test thread; the ORM calls that set up data are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery-staple"
TIMEOUT_MS = 5_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium to run the browser journeys"
        # CI installs chromium and sets EPR_REQUIRE_BROWSER, so there a missing browser fails the run
        # instead of skipping the journeys unseen; a developer without it can still run the rest.
        if os.environ.get("EPR_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def log_in(browser: Browser, live_server) -> Iterator[Callable[[str], Page]]:
    """log_in("alice") opens a new browser context, logs in through the login page and returns the page."""
    contexts = []

    def _log_in(username: str) -> Page:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return page

    yield _log_in
    for context in contexts:
        context.close()


@pytest.fixture
def axe() -> Callable[..., None]:
    """axe(page, context="ward list") fails the test on any WCAG 2.2 A/AA violation axe-core finds.

    Pass exclude_rules=[...] only for a known violation, marked at the call with its page and owner.
    """
    return assert_accessible
