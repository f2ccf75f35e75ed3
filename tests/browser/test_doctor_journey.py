"""A doctor's day with one patient in a real browser: allergy and problem from the SNOMED CT pickers,
a ward round note signed from a template, then the nurse reads it all back on the timeline.

transactional_db flushes every table between tests, taking the rows the data migrations loaded (the
terminology subset and the starter note templates) with it, so the test puts back the ones it needs.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from epr.terminology.services import load_shipped_subset
from records.models import AllergyIntolerance, ClinicalNote, NoteStatus, NoteTemplate, NoteType, Problem

pytestmark = pytest.mark.browser

RED = "rgb(213, 40, 27)"  # NHS red, #d5281b: the banner's allergy strip when allergies are recorded
PENICILLIN = "764146007"
PNEUMONIA = "233604007"
WARD_ROUND_FIELDS = [
    {"key": "senior", "label": "Senior reviewing", "kind": "text", "required": False, "help": ""},
    {"key": "impression", "label": "Impression", "kind": "textarea", "required": True, "help": ""},
    {"key": "plan", "label": "Plan", "kind": "textarea", "required": True, "help": ""},
]
IMPRESSION_MISSING = "Enter Impression: it is needed to sign this note."


def field(label: str) -> re.Pattern[str]:
    """A form label as shown, with or without the " (optional)" the field template adds."""
    return re.compile(rf"^{re.escape(label)}( \(optional\))?$")


def expect_red_allergy_strip(page: Page, text: str) -> None:
    strip = page.get_by_test_id("banner-allergies")
    expect(strip).to_contain_text(text)
    expect(strip).to_have_class(re.compile(r"\bepr-banner__allergies--present\b"))
    background = strip.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == RED, background


def test_doctor_records_allergy_problem_and_note_and_the_nurse_sees_them_on_the_timeline(
    transactional_db, live_server, log_in, axe, admitted, patient, doctor, nurse
):
    load_shipped_subset()  # idempotent upserts: the SNOMED CT / ICD-10 subset the pickers search
    NoteTemplate.objects.update_or_create(
        name="Ward round",
        defaults={
            "note_type": NoteType.WARD_ROUND,
            "description": "Daily review: impression and plan",
            "fields": WARD_ROUND_FIELDS,
            "writer_roles": [],
            "countersign_roles": ["hca"],
            "active": True,
        },
    )
    name = patient.display_name  # "SMITH, John"

    # Dr Dee has no ward of her own: she lands on the patients under her team and opens Mr Smith.
    page = log_in(doctor.username)
    expect(page).to_have_url(re.compile(r"/my-patients/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("My patients")
    axe(page, context="my patients")
    page.get_by_test_id("my-patients").get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    strip = page.get_by_test_id("banner-allergies")
    expect(strip).to_contain_text("Warning: allergies not yet recorded.")
    expect(strip).to_have_class(re.compile(r"\bepr-banner__allergies--not-recorded\b"))
    axe(page, context="patient page, allergies not yet recorded")

    # Allergies: the substance picker lists matches from the terminology as she types.
    page.get_by_role("link", name="Allergies", exact=True).first.click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/allergies/$"))
    expect(page.get_by_text("Nothing recorded.")).to_be_visible()
    axe(page, context="allergies, nothing recorded")
    page.get_by_role("link", name="Record an allergy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record an allergy or intolerance")
    axe(page, context="record an allergy")
    page.get_by_role("combobox", name=field("Search for the substance")).press_sequentially("penic")
    options = page.get_by_role("listbox", name="Matching substances").get_by_role("option")
    expect(options.first).to_have_text("Penicillin (764146007)")
    axe(page, context="record an allergy, picker listing matches")
    page.screenshot(path="/tmp/allergy_picker.png", full_page=True)  # noqa: S108 - a look at the page
    options.first.click()
    expect(page.get_by_test_id("substance_search-chosen")).to_contain_text("Chosen: Penicillin (764146007)")
    page.get_by_label(field("Reaction")).fill("Anaphylaxis")
    page.get_by_label(field("Severity")).select_option(label="Severe")
    page.get_by_label(field("Criticality")).select_option(label="High risk")
    page.get_by_label(field("Certainty")).select_option(label="Confirmed")
    page.get_by_role("button", name="Save allergy").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/allergies/$"))
    expect(page.get_by_role("status")).to_have_text("Allergy recorded.")
    row = page.get_by_test_id("allergies-table").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Penicillin (764146007)")
    expect(row).to_contain_text("Anaphylaxis")
    expect(row).to_contain_text("Severe / High risk")
    expect(row).to_contain_text("Confirmed")
    expect_red_allergy_strip(page, "Allergies: Penicillin (Anaphylaxis)")
    axe(page, context="allergies with one recorded")
    allergy = AllergyIntolerance.objects.get(patient=patient)
    assert (allergy.substance_code, allergy.severity, allergy.criticality, allergy.verification) == (
        PENICILLIN,
        "severe",
        "high",
        "confirmed",
    )
    assert allergy.recorded_by == doctor

    # The red strip follows the patient: the patient page and the observation chart.
    page.get_by_test_id("patient-banner").get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    expect_red_allergy_strip(page, "Allergies: Penicillin (Anaphylaxis)")
    axe(page, context="patient page with the red allergy strip")
    page.get_by_role("link", name="Observations", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/observations/$"))
    expect_red_allergy_strip(page, "Allergies: Penicillin (Anaphylaxis)")
    axe(page, context="observations, no sets yet")

    # Problems: the same picker over the problem subset; the ICD-10 code comes from the map.
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Problems", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/problems/$"))
    axe(page, context="problems, none recorded")
    page.get_by_role("link", name="Record a problem").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a problem or diagnosis")
    axe(page, context="record a problem")
    search = page.get_by_role("combobox", name=field("Search for the problem or diagnosis"))
    search.press_sequentially("pneum")
    option = page.get_by_role("option", name="Pneumonia (233604007)", exact=True)
    expect(option).to_be_visible()
    axe(page, context="record a problem, picker listing matches")
    option.click()
    page.get_by_label(field("Verification")).select_option(label="Confirmed")
    page.get_by_role("button", name="Save problem").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/problems/$"))
    expect(page.get_by_role("status")).to_have_text("Problem recorded.")
    row = page.get_by_test_id("problems-table").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Pneumonia (233604007)")
    expect(row.locator("td").nth(1)).to_have_text("J18.9 Pneumonia, unspecified")
    axe(page, context="problems with one recorded")
    problem = Problem.objects.get(patient=patient)
    assert (problem.snomed_code, problem.icd10_code) == (PNEUMONIA, "J18.9")

    # Notes: a ward round note; signing without the required impression names it in the error summary.
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Notes", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/notes/$"))
    expect(page.get_by_text("No notes.")).to_be_visible()
    axe(page, context="notes, none written")
    page.get_by_role("link", name="Write a note").click()
    expect(page.get_by_role("link", name="Ward round", exact=True)).to_be_visible()
    axe(page, context="write a note: choose a template")
    page.get_by_role("link", name="Ward round", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Write a note: Ward round")
    axe(page, context="write a ward round note")
    page.get_by_label(field("Senior reviewing")).fill("Dr Dee, consultant")
    page.get_by_label(field("Plan")).fill("IV co-amoxiclav is contraindicated: start clarithromycin")
    page.get_by_role("button", name="Sign note").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(summary.get_by_role("link", name=IMPRESSION_MISSING)).to_have_attribute("href", "#id_impression")
    expect(page.locator("#impression-error")).to_contain_text(IMPRESSION_MISSING)
    expect(page.get_by_label(field("Plan"))).to_have_value(
        "IV co-amoxiclav is contraindicated: start clarithromycin"
    )
    axe(page, context="ward round note with an error")
    assert not ClinicalNote.objects.filter(patient=patient).exists()

    page.get_by_label(field("Impression")).fill("Community-acquired pneumonia, improving")
    page.get_by_role("button", name="Sign note").click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/notes/$"))
    expect(page.get_by_role("status")).to_have_text("Note signed.")
    card = page.get_by_test_id("note")
    expect(card).to_have_count(1)
    expect(card.get_by_role("heading")).to_have_text("Ward round")
    expect(card).to_contain_text(
        re.compile(rf"Ward round note by {re.escape(str(doctor))}.*signed \d\d-", re.DOTALL)
    )
    expect(card).to_contain_text("Community-acquired pneumonia, improving")
    expect(card.locator(".nhsuk-tag")).to_have_count(0)  # no Draft / Awaiting countersignature tag
    axe(page, context="notes with one signed")
    note = ClinicalNote.objects.get(patient=patient)
    assert (note.status, note.author) == (NoteStatus.SIGNED, doctor)

    # Alice, the nurse on the ward, reads the record back on the timeline: newest first.
    page = log_in(nurse.username)
    page.goto(f"/patients/{patient.pk}/timeline/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline")
    expect_red_allergy_strip(page, "Allergies: Penicillin (Anaphylaxis)")
    items = page.get_by_test_id("timeline").get_by_role("listitem")
    expect(items).to_have_text(
        [
            re.compile(r"Ward round.*Signed.*" + re.escape(str(doctor)), re.DOTALL),
            re.compile(r"Problem: Pneumonia.*" + re.escape(str(doctor)), re.DOTALL),
            re.compile(r"Allergy: Penicillin.*Anaphylaxis.*Severe.*Confirmed", re.DOTALL),
            re.compile(r"Admitted.*Ward 7, Bay A", re.DOTALL),
        ]
    )
    axe(page, context="timeline")
