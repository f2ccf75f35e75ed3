"""End-to-end journeys through the pages, as staff use them: a real browser against the live server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from records.models import Patient
from records.rules import patients as rules
from tests.browser.axe import assert_accessible, visit

pytestmark = pytest.mark.browser


def _nhs_number(first_nine: str) -> str:
    check = rules.nhs_number_check_digit(first_nine)
    assert check is not None
    return f"{first_nine}{check}"


NEW_NHS_NUMBER = _nhs_number("999876543")
SHOTS = Path("/tmp/shots/hazard")  # noqa: S108 - screenshots to look at, not data
WIDTHS = {"desktop": 1280, "tablet": 800, "phone": 390}
# The innermost elements that reach past the right edge of the window (what makes a page scroll sideways).
WIDER_THAN_THE_WINDOW = """() => {
    if (document.documentElement.scrollWidth <= window.innerWidth) return [];
    const out = [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect();
        return r.width && r.right > window.innerWidth + 1 && getComputedStyle(e).position !== 'fixed';
    });
    return out.filter(e => !out.some(o => o !== e && e.contains(o)))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ': '
            + (e.textContent || '').trim().slice(0, 40));
}"""


def field(label: str) -> re.Pattern[str]:
    """A form label as shown, with or without the " (optional)" the field template adds."""
    return re.compile(rf"^{re.escape(label)}( \(optional\))?$")


def test_register_admit_ward_list_and_break_glass(
    transactional_db, live_server, log_in, axe, ward, bed, clerk, doctor, team, nurse, outsider
):
    spaced = rules.format_nhs_number(NEW_NHS_NUMBER)

    # Clara, the ward clerk, registers the patient, typing the NHS number with spaces.
    page = log_in(clerk.username)
    axe(page, context="clerk's landing page")
    page.get_by_role("link", name="Register a patient").click()
    axe(page, context="register a patient")
    page.get_by_label(field("NHS number")).fill(spaced)
    page.get_by_label(field("Family name (surname)")).fill("Okafor")
    page.get_by_label(field("Given names")).fill("Grace")
    date_of_birth = page.get_by_role("group", name=field("Date of birth"))
    date_of_birth.get_by_label("Day").fill("17")
    date_of_birth.get_by_label("Month").fill("5")
    date_of_birth.get_by_label("Year").fill("1948")
    page.get_by_label(field("Sex")).select_option(label="Female")
    page.get_by_role("button", name="Register patient").click()

    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    patient = Patient.objects.get(nhs_number=NEW_NHS_NUMBER)
    assert page.url.endswith(f"/patients/{patient.pk}/")
    expect(page.get_by_role("status")).to_contain_text(f"hospital number {patient.hospital_number}")
    axe(page, context="patient page after registering")

    # She admits the patient to Ward 7: the bed list is filled by htmx once the ward is chosen.
    page.get_by_role("link", name="Admit", exact=True).click()
    page.get_by_label(field("Ward")).select_option(label=ward.name)
    bed_select = page.locator("#id_bed")
    expect(bed_select.locator("option", has_text="Bay A 1")).to_be_attached()
    bed_select.select_option(label="Bay A 1")
    axe(page, context="admit form with the beds filled by htmx")
    page.get_by_label(field("Consultant")).select_option(label=str(doctor))
    page.get_by_label(field("Treating team")).select_option(label=team.name)
    page.get_by_label(field("Specialty")).select_option(label="General internal medicine")
    page.get_by_label(field("Admission method")).select_option(label="Emergency - via emergency department")
    page.get_by_role("button", name="Admit", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    expect(page.get_by_role("status")).to_have_text(f"Admitted to {ward.name}.")
    expect(page.get_by_test_id("patient-banner")).to_contain_text("Bay A bed 1")
    axe(page, context="patient page after admitting")

    # Alice, a nurse on Ward 7, lands on her ward list and finds the patient in the bed.
    page = log_in(nurse.username)
    expect(page).to_have_url(re.compile(r"/wards/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(ward.name)
    row = page.get_by_test_id("ward-list").get_by_role("row").filter(has_text="Bay A 1")
    expect(row).to_contain_text("OKAFOR")
    expect(row).to_contain_text(spaced)
    axe(page, context="nurse's ward list")
    page.screenshot(path="/tmp/ward_list.png", full_page=True)  # noqa: S108 - a look at the page, not data
    row.get_by_role("link").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    expect(page.get_by_test_id("banner-nhs")).to_have_text(spaced)
    expect(page.locator(".epr-break-glass")).to_have_count(0)
    axe(page, context="patient page through a care relationship")

    # Charlie, a nurse on another ward, is refused and offered break-glass; no banner or clinical detail.
    page = log_in(outsider.username)
    response = page.goto(f"/patients/{patient.pk}/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You do not have a care relationship with this patient"
    )
    expect(page.get_by_test_id("patient-banner")).to_have_count(0)
    # Only who the patient is, so she breaks glass into the right record; nothing clinical.
    refused = page.get_by_test_id("refused-patient")
    expect(refused).to_contain_text(spaced)
    expect(refused).to_contain_text("OKAFOR, Grace")
    axe(page, context="no care relationship page offering break-glass")

    reason = "Cardiac arrest call on the corridor outside Ward 7"
    page.get_by_label("Why do you need this record now?").fill(reason)
    page.get_by_role("button", name="Open record with break-glass").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    expect(page.get_by_test_id("banner-nhs")).to_have_text(spaced)
    glass = page.locator(".epr-break-glass")
    expect(glass).to_contain_text("Break-glass access until")
    expect(glass).to_contain_text(reason)
    # Dark with a yellow edge and label: never mistaken for the red allergy strip.
    expect(glass).to_have_css("background-color", "rgb(33, 43, 50)")
    expect(glass).to_have_css("border-top-color", "rgb(255, 235, 59)")
    axe(page, context="patient page with the break-glass banner")


def test_register_with_invalid_nhs_number_shows_error_and_saves_nothing(
    transactional_db, live_server, log_in, axe, clerk
):
    wrong_check_digit = NEW_NHS_NUMBER[:9] + str((int(NEW_NHS_NUMBER[9]) + 1) % 10)
    before = Patient.objects.count()

    page = log_in(clerk.username)
    visit(page, "/patients/register/", context="register a patient, opened by its address")
    page.get_by_label(field("NHS number")).fill(rules.format_nhs_number(wrong_check_digit))
    page.get_by_label(field("Family name (surname)")).fill("Okafor")
    page.get_by_label(field("Given names")).fill("Grace")
    page.get_by_role("button", name="Register patient").click()

    message = "This is not a valid NHS number: the check digit is wrong. Check for a typing error."
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", "#id_nhs_number")
    expect(page.locator("#nhs_number-error")).to_contain_text(message)
    expect(page).to_have_url(re.compile(r"/patients/register/$"))
    axe(page, context="register a patient with an error")
    assert Patient.objects.count() == before


def test_login_page_is_accessible_also_with_an_error(transactional_db, live_server, browser, axe, clerk):
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        axe(page, context="login page")

        page.get_by_label("Username").fill(clerk.username)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
        axe(page, context="login page after a wrong password")
    finally:
        context.close()


def test_accessibility_check_names_each_violation_and_honours_exclusions(browser):
    """The axe check every journey relies on really fails: a missing alt text and faint text are named."""
    page = browser.new_page()
    try:
        page.set_content(
            '<!doctype html><html lang="en"><head><title>Faults</title></head><body><main>'
            '<h1>Faults</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<p id="faint" style="color:#bbbbbb;background:#ffffff">Faint text</p></main></body></html>'
        )
        with pytest.raises(AssertionError) as failure:
            assert_accessible(page, context="a page with two faults")
        message = str(failure.value)
        assert "2 accessibility violation(s) on a page with two faults" in message, message
        assert "- image-alt [critical]: Images must have alternative text" in message, message
        assert "- color-contrast [serious]" in message and "#faint" in message, message

        assert_accessible(page, exclude_rules=["image-alt", "color-contrast"])
    finally:
        page.close()


def test_login_ward_list_and_patient_page_are_accessible_on_desktop_tablet_and_phone(
    transactional_db, live_server, browser, log_in, axe, admitted, nurse
):
    """axe again at each width (WCAG 2.2 target sizes and reflow differ), and no sideways scrolling."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    anonymous = browser.new_context(base_url=live_server.url)
    signed_in = log_in(nurse.username)
    try:
        login_page = anonymous.new_page()
        pages = {
            "login": (login_page, "/accounts/login/"),
            "ward-list": (signed_in, "/wards/"),
            "patient": (signed_in, f"/patients/{admitted.patient_id}/"),
        }
        for width_name, width in WIDTHS.items():
            for page_name, (page, url) in pages.items():
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(url)
                expect(page.get_by_role("main")).to_be_visible()
                where = f"{page_name} at {width} px"
                page.screenshot(path=str(SHOTS / f"{page_name}-{width_name}.png"), full_page=True)
                axe(page, context=where)
                wide = page.evaluate(WIDER_THAN_THE_WINDOW)
                assert not wide, f"{where} scrolls sideways: {wide}"
    finally:
        anonymous.close()
