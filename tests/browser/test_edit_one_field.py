"""Change one field in a real browser, save, and nothing else on the record moves.

Found in use: the edit forms rendered stored dates as 01/06/1948, which <input type="date"> cannot hold,
so chromium showed them empty and posted them back empty: saving a phone number erased the date of
birth. Each test opens an edit form in chromium, changes ONE field, saves, and compares every stored
field (except the edited one, the version and the update time) with the database before.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import models
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from epr.accounts.roles import Role
from epr.terminology.services import load_shipped_subset
from records import services
from records.models import ClinicalNote, NoteTemplate, NoteType, Patient, SubjectAccessRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

DIABETES = "44054006"
ASIDE = ("version", "updated_at")
SHOTS = "/tmp/shots/dates"  # noqa: S108 - screenshots to look at, not data


def fields_of(obj: models.Model, *, edited: str) -> dict:
    """Every stored column of the row, fresh from the database, but the edited one, version and
    updated-at."""
    fresh = type(obj).objects.get(pk=obj.pk)
    skip = {edited, *ASIDE}
    return {f.attname: getattr(fresh, f.attname) for f in obj._meta.concrete_fields if f.name not in skip}


def field(label: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(label)}( \(optional\))?$")


@pytest.fixture
def grace(transactional_db, clerk) -> Patient:
    """A patient with every demographic detail filled in."""
    return services.patient_register(
        registered_by=clerk,
        nhs_number="9434765919",
        nhs_number_status="01",
        title="Mrs",
        family_name="Okafor",
        given_names="Grace",
        preferred_name="Gee",
        date_of_birth=date(1948, 6, 1),
        sex="female",
        address_line_1="1 High Street",
        town="Leeds",
        postcode="LS1 4AP",
        phone="0113 496 0000",
        email="grace@example.org",
        gp_practice_code="B86001",
        next_of_kin_name="Ada Okafor",
        next_of_kin_relationship="Daughter",
        ethnic_category="N",
        preferred_language="Igbo",
        interpreter_required=True,
    )


def _shoot(page: Page, name: str) -> None:
    for width in (1280, 800, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways at {width}px by {overflow}px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_changing_the_phone_number_keeps_the_date_of_birth(live_server, log_in, axe, clerk, grace):
    before = fields_of(grace, edited="phone")
    page = log_in(clerk.username)
    page.goto(f"/patients/{grace.pk}/edit/")
    group = page.get_by_role("group", name="Date of birth")
    expect(group.get_by_label("Day")).to_have_value("1")
    expect(group.get_by_label("Month")).to_have_value("6")
    expect(group.get_by_label("Year")).to_have_value("1948")
    axe(page, context="edit demographics")
    _shoot(page, "patient-edit")
    page.get_by_label(field("Phone")).fill("0113 496 0999")
    page.get_by_role("button", name="Save details").click()

    expect(page).to_have_url(re.compile(rf"/patients/{grace.pk}/$"))
    assert fields_of(grace, edited="phone") == before
    assert Patient.objects.get(pk=grace.pk).phone == "0113 496 0999"
    newer, older = grace.history.order_by("-history_id")[:2]
    assert [c.field for c in newer.diff_against(older).changes if c.field != "version"] == ["phone"]
    page.goto(f"/patients/{grace.pk}/history/")
    latest = page.get_by_test_id("history").locator("tbody tr").first
    expect(latest).to_contain_text("Phone")
    expect(latest).not_to_contain_text("Date of birth")

    # The search form takes the date of birth in the same three boxes, and keeps it for the next search.
    page.goto("/patients/?name=okafor&date_of_birth_day=1&date_of_birth_month=6&date_of_birth_year=1948")
    expect(page.get_by_test_id("search-results")).to_contain_text(grace.hospital_number)
    expect(page.get_by_role("group", name="Date of birth").get_by_label("Year")).to_have_value("1948")
    _shoot(page, "search")


def test_the_date_input_takes_15_3_1984(live_server, log_in, axe, clerk):
    page = log_in(clerk.username)
    page.goto("/patients/register/")
    page.get_by_label(field("Family name (surname)")).fill("Nowak")
    page.get_by_label(field("NHS number verification status")).select_option(value="03")
    group = page.get_by_role("group", name="Date of birth")
    expect(page.locator("#date_of_birth-hint")).to_have_text("For example, 15 3 1984")
    group.get_by_label("Day").fill("15")
    group.get_by_label("Month").fill("")
    group.get_by_label("Year").fill("1984")
    page.get_by_role("button", name="Register patient").click()

    # A missing month is named, linked from the summary to the first box, and nothing is saved.
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Date of birth must include a month")
    expect(group.get_by_label("Month")).to_have_class(re.compile(r"\bnhsuk-input--error\b"))
    expect(group.get_by_label("Day")).not_to_have_class(re.compile(r"\bnhsuk-input--error\b"))
    axe(page, context="register with a date of birth missing its month")
    _shoot(page, "register-error")
    summary.get_by_role("link", name="Date of birth must include a month").click()
    expect(group.get_by_label("Day")).to_be_focused()
    assert not Patient.objects.filter(family_name="Nowak").exists()

    group.get_by_label("Month").fill("3")
    page.get_by_role("button", name="Register patient").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    assert Patient.objects.get(family_name="Nowak").date_of_birth == date(1984, 3, 15)


def test_changing_a_problems_note_keeps_its_dates(live_server, log_in, axe, admitted, doctor):
    load_shipped_subset()
    problem = services.problem_record(
        recorded_by=doctor,
        patient=admitted.patient,
        snomed_code=DIABETES,
        clinical_status="resolved",
        verification="confirmed",
        onset_date=date(2019, 3, 1),
        resolved_date=date(2021, 7, 15),
        note="Diet controlled\nHbA1c normal",
    )
    before = fields_of(problem, edited="note")
    page = log_in(doctor.username)
    page.goto(f"/patients/{problem.patient_id}/problems/{problem.pk}/amend/")
    expect(page.get_by_role("group", name="Onset date").get_by_label("Year")).to_have_value("2019")
    axe(page, context="amend a problem")
    _shoot(page, "problem-amend")
    page.get_by_label(field("Note")).fill("Diet controlled\nHbA1c normal\nSeen in clinic")
    page.get_by_label("Reason for the change").fill("Clinic letter")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(rf"/patients/{problem.patient_id}/problems/$"))
    assert fields_of(problem, edited="note") == before
    assert type(problem).objects.get(pk=problem.pk).note == "Diet controlled\nHbA1c normal\nSeen in clinic"


def test_changing_an_allergys_reaction_keeps_the_rest(live_server, log_in, admitted, nurse):
    allergy = services.allergy_record(
        recorded_by=nurse,
        patient=admitted.patient,
        substance_text="Elastoplast",
        category="environment",
        reaction="Blistering",
        severity="moderate",
        criticality="low",
        verification="confirmed",
        note="Seen on the ward\nPhotographed",
    )
    before = fields_of(allergy, edited="reaction")
    page = log_in(nurse.username)
    page.goto(f"/patients/{allergy.patient_id}/allergies/{allergy.pk}/amend/")
    page.get_by_label(field("Reaction")).fill("Blistering and weeping")
    page.get_by_label("Reason for the change").fill("Seen again today")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(rf"/patients/{allergy.patient_id}/allergies/$"))
    assert fields_of(allergy, edited="reaction") == before


def test_changing_a_care_plans_goals_keeps_the_review_date(live_server, log_in, axe, admitted, nurse, team):
    plan = services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Risk of falls",
        goals="No falls\nWalks with frame",
        interventions="Falls sensor at night\nPhysio review",
        responsible=nurse,
        team=team,
        review_date=timezone.localdate() + timedelta(days=3),
    )
    before = fields_of(plan, edited="goals")
    page = log_in(nurse.username)
    page.goto(f"/patients/{plan.patient_id}/care-plans/{plan.pk}/edit/")
    expect(page.get_by_label(field("Review date"))).to_have_value(plan.review_date.isoformat())
    axe(page, context="edit a care plan")
    _shoot(page, "careplan-edit")
    page.get_by_label(field("Goals")).fill("No falls\nWalks with frame\nSleeps through")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(rf"/patients/{plan.patient_id}/care-plans/$"))
    assert fields_of(plan, edited="goals") == before
    assert type(plan).objects.get(pk=plan.pk).goals == "No falls\nWalks with frame\nSleeps through"


def test_a_note_amendment_keeps_the_other_fields(live_server, log_in, admitted, nurse):
    template = NoteTemplate.objects.create(
        name="Round trip",
        note_type=NoteType.WARD_ROUND,
        fields=[
            {"key": "plan", "label": "Plan", "kind": "textarea", "required": True},
            {"key": "news2", "label": "NEWS2 score", "kind": "number"},
            {"key": "escalation", "label": "Escalation", "kind": "choice", "choices": ["Full", "Ward"]},
            {"key": "dnacpr", "label": "DNACPR in place", "kind": "yes_no"},
            {"key": "review_on", "label": "Review on", "kind": "date"},
        ],
    )
    note = services.note_start(
        author=nurse,
        patient=admitted.patient,
        template=template,
        values={
            "plan": "Oral antibiotics\nReview bloods",
            "news2": 3,
            "escalation": "Ward",
            "dnacpr": False,
            "review_on": "2026-03-15",
        },
        free_text="Seen with family",
        sign=True,
    )
    page = log_in(nurse.username)
    page.goto(f"/patients/{note.patient_id}/notes/{note.pk}/amend/")
    page.get_by_label(field("Notes")).fill("Seen with family and the GP")
    page.get_by_label("Reason for the amendment").fill("GP was there too")
    page.get_by_role("button", name=re.compile("Amend|Save|Sign")).first.click()

    expect(page).to_have_url(re.compile(rf"/patients/{note.patient_id}/notes/$"))
    amended = ClinicalNote.objects.get(pk=note.pk)
    assert amended.values == note.values
    assert amended.free_text == "Seen with family and the GP"


def test_logging_a_request_keeps_the_received_date_shown(live_server, log_in, axe, patient):
    admin = UserFactory(username="ada", role=Role.ADMIN)
    device = TOTPDevice.objects.create(user=admin, name="test", confirmed=True)
    page = log_in(admin.username)
    page.goto("/accounts/second-factor/")
    page.get_by_label("6-digit code from your authenticator app").fill(
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    )
    page.get_by_role("button", name="Continue").click()
    page.goto(f"/patients/{patient.pk}/subject-access/new/")
    today = timezone.localdate()
    group = page.get_by_role("group", name="Date the request was received")
    expect(group.get_by_label("Year")).to_have_value(str(today.year))
    axe(page, context="log a subject access request")
    _shoot(page, "sar-new")
    page.get_by_label(field("Representative's name and authority")).fill("Self, by letter")
    page.get_by_role("button", name="Log request").click()

    expect(page).to_have_url(re.compile(r"/subject-access/\d+/redactions/$"))
    sar = SubjectAccessRequest.objects.get(patient=patient)
    assert sar.received_on == today
    assert sar.requester_description == "Self, by letter"
