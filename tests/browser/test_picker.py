"""The SNOMED CT picker in a real browser: one combobox driven from the keyboard, whose choice survives
a form error; synonyms and abbreviations find their concept; the listbox fits a phone.

transactional_db flushes the terminology the migrations loaded, so each test loads the subset again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from epr.terminology.services import load_shipped_subset
from records.models import AllergyIntolerance, Problem

pytestmark = pytest.mark.browser

COPD = "13645005"
CO_AMOXICLAV = "96067005"
SHOTS = Path("/tmp/shots/picker")  # noqa: S108 - screenshots to look at, not test data
PROBLEM_SEARCH = "Search for the problem or diagnosis"


def _search(page: Page, label: str):
    return page.get_by_role("combobox", name=label, exact=True)


def _listbox(page: Page, box):
    return page.locator(f"#{box.get_attribute('aria-controls')}")


def test_problem_chosen_with_the_keyboard_stays_chosen_after_a_missing_field(
    transactional_db, live_server, log_in, axe, admitted, doctor
):
    load_shipped_subset()
    patient_id = admitted.patient_id
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient_id}/problems/new/")
    box = _search(page, PROBLEM_SEARCH)
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_attribute("aria-autocomplete", "list")
    listbox = _listbox(page, box)
    expect(listbox).to_have_attribute("role", "listbox")
    expect(listbox).to_be_hidden()

    box.press_sequentially("COPD")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Chronic obstructive lung disease (13645005)")
    expect(options.first).to_contain_text("COPD - Chronic obstructive pulmonary disease")  # why it matched
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    expect(options.first).to_have_attribute("aria-selected", "true")
    axe(page, context="problem picker, listbox open with an active option")
    box.press("Enter")

    # Enter chose the concept (it did not submit the form) and closed the listbox.
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile(".*"))
    chosen = page.get_by_test_id("problem_search-chosen")
    expect(chosen).to_contain_text("Chosen: Chronic obstructive lung disease (13645005)")
    expect(chosen.get_by_role("button", name="Clear the chosen problem")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/problems/new/$"))
    assert not Problem.objects.exists()

    # Saved without the verification, a required field: the error is shown, the choice is kept.
    page.get_by_role("button", name="Save problem").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Select whether the diagnosis is confirmed, provisional or differential")
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(chosen).to_contain_text("Chosen: Chronic obstructive lung disease (13645005)")
    expect(_search(page, PROBLEM_SEARCH)).to_have_value("COPD")
    assert not Problem.objects.exists()
    axe(page, context="problem picker, chosen, after an error elsewhere")

    page.get_by_label("Verification").select_option(label="Confirmed")
    page.get_by_role("button", name="Save problem").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/problems/$"))
    row = page.get_by_test_id("problems-table").locator("tbody tr")
    expect(row).to_contain_text("Chronic obstructive lung disease (13645005)")
    problem = Problem.objects.get(patient_id=patient_id)
    assert (problem.snomed_code, problem.verification, problem.icd10_code) == (COPD, "confirmed", "J44.9")


def test_co_amox_finds_co_amoxiclav_and_records_the_allergy(
    transactional_db, live_server, log_in, axe, admitted, doctor
):
    load_shipped_subset()
    patient_id = admitted.patient_id
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient_id}/allergies/new/")
    box = _search(page, "Search for the substance")
    listbox = _listbox(page, box)

    # Nothing found says so, visibly and to a screen reader.
    box.press_sequentially("zzqx")
    no_match = "No substance matches “zzqx”: check the spelling or try other words."
    expect(page.locator(".epr-combobox__message")).to_have_text(no_match)
    expect(page.get_by_role("status").filter(has_text="zzqx")).to_have_text(no_match)
    expect(listbox).to_be_hidden()
    box.fill("")

    # Escape closes the list and keeps what was typed; the arrow key opens it again.
    box.press_sequentially("co-amox")
    expect(listbox.get_by_role("option").first).to_contain_text("Amoxicillin and clavulanic acid (96067005)")
    expect(listbox.get_by_role("option").first).to_contain_text("Co-amoxiclav")
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("co-amox")
    box.press("ArrowDown")
    expect(listbox).to_be_visible()
    box.press("Enter")
    chosen = page.get_by_test_id("substance_search-chosen")
    expect(chosen).to_contain_text("Chosen: Amoxicillin and clavulanic acid (96067005)")

    # Typing a new search drops the choice; Clear empties the box and gives it the focus.
    box.press_sequentially("x")
    expect(chosen).to_be_hidden()
    box.fill("")
    box.press_sequentially("co-amox")
    listbox.get_by_role("option").first.click()
    expect(chosen).to_be_visible()
    chosen.get_by_role("button", name="Clear the chosen substance").click()
    expect(chosen).to_be_hidden()
    expect(box).to_have_value("")
    expect(box).to_be_focused()

    box.press_sequentially("co-amox")
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    box.press("Enter")
    expect(chosen).to_contain_text("Chosen: Amoxicillin and clavulanic acid (96067005)")
    page.get_by_label(re.compile(r"^Reaction")).fill("Urticaria")
    axe(page, context="allergy picker, co-amoxiclav chosen")
    page.get_by_role("button", name="Save allergy").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/allergies/$"))
    expect(page.get_by_test_id("banner-allergies")).to_contain_text(
        "Amoxicillin and clavulanic acid (Urticaria)"
    )
    allergy = AllergyIntolerance.objects.get(patient_id=patient_id)
    assert (allergy.substance_code, allergy.reaction) == (CO_AMOXICLAV, "Urticaria")


def test_results_of_a_submitted_search_become_the_listbox_and_it_fits_each_screen(
    transactional_db, live_server, log_in, admitted, doctor
):
    load_shipped_subset()
    SHOTS.mkdir(parents=True, exist_ok=True)
    patient_id = admitted.patient_id
    page = log_in(doctor.username)
    for width in (1280, 800, 390):  # desktop, ward tablet, phone
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/patients/{patient_id}/problems/new/")
        box = _search(page, PROBLEM_SEARCH)
        box.press_sequentially("diab")
        listbox = _listbox(page, box)
        expect(listbox.get_by_role("option")).to_have_count(4)
        box.press("ArrowDown")
        page.screenshot(path=SHOTS / f"browser_problem_listbox_{width}.png")
        fits = page.evaluate(
            "id => { const r = document.getElementById(id).getBoundingClientRect();"
            " return [r.left, r.right, document.documentElement.scrollWidth, window.innerWidth]; }",
            listbox.get_attribute("id"),
        )
        left, right, scroll_width, inner_width = fits
        assert left >= 0 and right <= inner_width and scroll_width <= inner_width, (width, fits)

    # Saved with several matches and none chosen: the page asks to choose, and the matches the server
    # listed are the listbox's options when the search box has the focus again.
    page.get_by_role("button", name="Save problem").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Several concepts match “diab”")
    page.screenshot(path=SHOTS / "browser_problem_after_error_390.png", full_page=True)
    expect(page.locator("input[type='radio'][name='snomed_code']")).to_have_count(0)
    page.locator(".nhsuk-error-summary").get_by_role("link").first.click()
    box = _search(page, PROBLEM_SEARCH)
    expect(box).to_be_focused()
    listbox = _listbox(page, box)
    expect(listbox.get_by_role("option")).to_have_count(4)
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    box.press("ArrowDown")
    box.press("Enter")
    expect(page.get_by_test_id("problem_search-chosen")).to_contain_text(
        "Diabetes mellitus type 1 (46635009)"
    )
    assert not Problem.objects.exists()
