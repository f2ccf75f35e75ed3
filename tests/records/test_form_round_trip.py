"""Every edit form posts back, untouched, exactly what it shows: saving one change never wipes or alters
another field (a date of birth above all).

`browser_submission` reads a page's form as a browser would submit it: a value an <input type="date">
cannot hold (01/06/1948) is dropped and posts as empty, a <select> with nothing selected posts its first
option, a textarea's line breaks post as CRLF. Posting that back must leave the record as it was.
"""

from __future__ import annotations

import importlib
import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from epr.accounts.roles import Role
from epr.forms import DateInput, DateTimeInput, MemorableDateField
from records import services
from records.forms.patients import DemographicsForm, PatientSearchForm
from records.models import (
    AllergyIntolerance,
    CarePlan,
    ClinicalNote,
    NoteTemplate,
    NoteType,
    SubjectAccessRequest,
)
from tests.factories import UserFactory
from tests.support import login

# What a browser does with an input's value attribute (HTML's value sanitisation algorithm).
_VALID = {
    "date": re.compile(r"^\d{4,}-\d{2}-\d{2}$"),
    "datetime-local": re.compile(r"^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$"),
    "number": re.compile(r"^-?(\d+|\d*\.\d+)([eE][-+]?\d+)?$"),
}


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = []
            self.forms.append(self._form)
        if self._form is None or "disabled" in a:
            return
        kind = a.get("type", "text").lower()
        if tag == "input" and a.get("name") and kind not in ("submit", "button", "image", "reset", "file"):
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form.append((a["name"], a.get("value", "on")))
                return
            value = a.get("value", "")
            if kind in _VALID and not _VALID[kind].match(value):
                value = ""  # the browser shows it empty, and posts it empty
            self._form.append((a["name"], value))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "options": [], "selected": [], "multiple": "multiple" in a}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": ""}
            self._select["options"].append(self._option)
            if "selected" in a:
                self._select["selected"].append(self._option)
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["selected"] or (
                self._select["options"][:1] if not self._select["multiple"] else []
            )
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"].strip()
                self._form.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = self._textarea["text"].removeprefix("\r\n").removeprefix("\n")
            self._form.append((self._textarea["name"], text.replace("\r\n", "\n").replace("\n", "\r\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def browser_submission(html: str, marker: str) -> dict[str, list[str]]:
    """The form holding a field named `marker`, as the browser would post it untouched."""
    parser = _Forms()
    parser.feed(html)
    for fields in parser.forms:
        if any(name == marker for name, _ in fields):
            data: dict[str, list[str]] = {}
            for name, value in fields:
                data.setdefault(name, []).append(value)
            return data
    raise AssertionError(f"No form with a field {marker!r} on the page")


def stored(obj: models.Model, *, ignore: tuple[str, ...] = ()) -> dict:
    """Every stored field of the row, read fresh from the database."""
    fresh = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in obj._meta.concrete_fields if f.name not in ignore}


def _round_trip(client, url: str, marker: str, **typed: str):
    page = client.get(url)
    assert page.status_code == 200
    data = browser_submission(page.content.decode(), marker)
    data.update({k: [v] for k, v in typed.items()})
    return client.post(url, data)


# -- demographics ------------------------------------------------------------------------------------


@pytest.fixture
def full_patient(db):
    """A patient with every demographic field filled, as an edit form must carry them all."""
    return services.patient_register(
        registered_by=UserFactory(role=Role.WARD_CLERK),
        nhs_number="9434765919",
        nhs_number_status="01",
        title="Mrs",
        family_name="Okafor",
        given_names="Grace Adaeze",
        preferred_name="Gee",
        date_of_birth=date(1948, 6, 1),
        sex="female",
        gender_identity="Woman",
        address_line_1="1 High Street",
        address_line_2="Flat 2",
        town="Leeds",
        postcode="LS1 4AP",
        phone="0113 496 0000",
        email="grace@example.org",
        gp_practice_code="B86001",
        gp_practice_name="Leeds Practice",
        next_of_kin_name="Ada Okafor",
        next_of_kin_relationship="Daughter",
        next_of_kin_phone="07700 900123",
        ethnic_category="N",
        preferred_language="Igbo",
        interpreter_required=True,
    )


def test_demographics_saved_untouched_change_nothing(client, clerk, full_patient):
    login(client, clerk)
    before = stored(full_patient)
    response = _round_trip(client, reverse("records:patient_edit", args=[full_patient.pk]), "phone")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored(full_patient) == before
    assert full_patient.history.count() == 1


def test_changing_the_phone_number_keeps_the_date_of_birth(client, clerk, full_patient):
    login(client, clerk)
    before = stored(full_patient, ignore=("phone", "version", "updated_at"))
    response = _round_trip(
        client, reverse("records:patient_edit", args=[full_patient.pk]), "phone", phone="0113 496 0999"
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored(full_patient, ignore=("phone", "version", "updated_at")) == before
    newer, older = full_patient.history.order_by("-history_id")[:2]
    assert [c.field for c in newer.diff_against(older).changes if c.field != "version"] == ["phone"]


def test_a_date_of_death_round_trips_too(client, clerk, full_patient):
    services.patient_update(
        updated_by=clerk,
        patient=full_patient,
        expected_version=1,
        changes={"date_of_death": date(2025, 1, 2)},
    )
    login(client, clerk)
    before = stored(full_patient)
    response = _round_trip(client, reverse("records:patient_edit", args=[full_patient.pk]), "phone")
    assert response.status_code == 302
    assert stored(full_patient) == before


def test_the_edit_form_shows_the_date_of_birth_in_three_boxes(client, clerk, full_patient):
    login(client, clerk)
    html = client.get(reverse("records:patient_edit", args=[full_patient.pk])).content.decode()
    assert 'name="date_of_birth_day" value="1"' in html
    assert 'name="date_of_birth_month" value="6"' in html
    assert 'name="date_of_birth_year" value="1948"' in html
    assert "01/06/1948" not in html
    assert 'class="nhsuk-date-input"' in html and "For example, 15 3 1984" in html
    assert '<legend class="nhsuk-fieldset__legend">Date of birth (optional)</legend>' in html


# -- the date input's own errors ---------------------------------------------------------------------


_REQUIRED = {"family_name": "Okafor", "sex": "unknown", "nhs_number_status": "03"}


def _dob(day: str, month: str, year: str) -> dict[str, str]:
    return {"date_of_birth_day": day, "date_of_birth_month": month, "date_of_birth_year": year}


@pytest.mark.parametrize(
    ("parts", "message", "marked"),
    [
        (("15", "", "1984"), "Date of birth must include a month", {"month"}),
        (("", "", "1984"), "Date of birth must include a day and month", {"day", "month"}),
        (("31", "2", "1984"), "Date of birth must be a real date", {"day", "month", "year"}),
        (("15", "March", "1984"), "Date of birth must be a real date", {"month"}),
        (("15", "3", "84"), "Date of birth must include a year with 4 numbers, like 1984", {"year"}),
        (("99999999999", "3", "1984"), "Date of birth must be a real date", {"day", "month", "year"}),
        (("١٥", "3", "1984"), "Date of birth must be a real date", {"day"}),
    ],
)
def test_the_date_input_says_what_is_wrong(db, parts, message, marked):
    form = DemographicsForm(data={**_REQUIRED, **_dob(*parts)})
    assert not form.is_valid()
    assert form.errors["date_of_birth"] == [message]
    assert form.fields["date_of_birth"].widget.error_parts == marked
    html = str(form["date_of_birth"])
    assert html.count("nhsuk-input--error") == len(marked)


def test_a_date_of_birth_must_be_in_the_past(db):
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = DemographicsForm(
        data={
            **_REQUIRED,
            **_dob(*map(str, (tomorrow.day, tomorrow.month, tomorrow.year))),
        }
    )
    assert form.errors["date_of_birth"] == ["Date of birth must be in the past"]
    today = timezone.localdate()
    form = DemographicsForm(
        data={
            **_REQUIRED,
            **_dob(str(today.day), str(today.month), str(today.year)),
        }
    )
    assert form.is_valid(), form.errors  # a baby born today


def test_a_required_date_names_itself():
    field = MemorableDateField(label="Date the request was received")
    with pytest.raises(ValidationError, match="Enter the date the request was received"):
        field.clean(["", "", ""])
    assert field.clean([" 05 ", "03", "1984"]) == date(1984, 3, 5)
    assert not field.has_changed("1984-03-05", ["5", "3", "1984"])
    assert field.has_changed(date(1984, 3, 5), ["6", "3", "1984"])


def test_the_error_summary_links_to_the_day_box_and_descriptions_exist(client, clerk, full_patient):
    login(client, clerk)
    url = reverse("records:patient_edit", args=[full_patient.pk])
    data = browser_submission(client.get(url).content.decode(), "phone")
    data.update({k: [v] for k, v in _dob("15", "", "1984").items()})
    html = client.post(url, data).content.decode()
    assert '<a href="#id_date_of_birth_day">Date of birth must include a month</a>' in html
    assert 'id="id_date_of_birth_day"' in html
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = {i for value in re.findall(r'aria-describedby="([^"]+)"', html) for i in value.split()}
    assert described <= ids, described - ids
    assert 'aria-describedby="date_of_birth-hint date_of_birth-error"' in html
    full_patient.refresh_from_db()
    assert full_patient.date_of_birth == date(1948, 6, 1)


def test_search_by_date_of_birth_in_three_parts(client, clerk, full_patient):
    login(client, clerk)
    response = client.get(reverse("records:patient_search"), {"name": "okafor", **_dob("1", "6", "1948")})
    assert full_patient.hospital_number.encode() in response.content
    assert b'name="date_of_birth_year" value="1948"' in response.content  # kept for the next search
    assert PatientSearchForm(data={"name": "okafor", **_dob("1", "6", "1948")}).is_valid()


# -- allergies and problems ----------------------------------------------------------------------------


@pytest.fixture
def allergy(admitted, nurse):
    return services.allergy_record(
        recorded_by=nurse,
        patient=admitted.patient,
        substance_text="Elastoplast",
        kind="allergy",
        category="environment",
        reaction="Blistering",
        severity="moderate",
        criticality="low",
        verification="confirmed",
        note="Seen on the ward\nPhotographed",
    )


@pytest.fixture
def problem(admitted, doctor):
    return services.problem_record(
        recorded_by=doctor,
        patient=admitted.patient,
        snomed_code="44054006",
        clinical_status="resolved",
        verification="confirmed",
        onset_date=date(2019, 3, 1),
        resolved_date=date(2021, 7, 15),
        note="Diet controlled\nHbA1c normal since 2021",
    )


def test_allergy_amended_untouched_changes_nothing(client, nurse, allergy):
    login(client, nurse)
    before = stored(allergy)
    url = reverse("records:entry_amend", args=[allergy.patient_id, "allergies", allergy.pk])
    response = _round_trip(client, url, "reason", reason="Checked with the patient")
    assert response.status_code == 302
    assert stored(allergy) == before


def test_problem_amended_untouched_keeps_its_dates(client, doctor, problem):
    login(client, doctor)
    before = stored(problem)
    url = reverse("records:entry_amend", args=[problem.patient_id, "problems", problem.pk])
    response = _round_trip(client, url, "reason", reason="Reviewed in clinic")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert stored(problem) == before


def test_changing_a_problems_note_keeps_everything_else(client, doctor, problem):
    login(client, doctor)
    ignore = ("note", "version")
    before = stored(problem, ignore=ignore)
    url = reverse("records:entry_amend", args=[problem.patient_id, "problems", problem.pk])
    response = _round_trip(client, url, "reason", reason="Reviewed", note="Diet controlled")
    assert response.status_code == 302
    assert stored(problem, ignore=ignore) == before
    problem.refresh_from_db()
    assert problem.note == "Diet controlled"


# -- care plans ----------------------------------------------------------------------------------------


@pytest.fixture
def plan(admitted, nurse, team, doctor):
    linked = services.problem_record(recorded_by=doctor, patient=admitted.patient, snomed_code="44054006")
    return services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Risk of falls",
        problem=linked,
        goals="No falls\nWalks with frame",
        interventions="Falls sensor at night\nPhysio review",
        responsible=nurse,
        team=team,
        review_date=timezone.localdate() + timedelta(days=3),
    )


def test_care_plan_saved_untouched_changes_nothing(client, nurse, plan):
    login(client, nurse)
    before = stored(plan)
    response = _round_trip(client, reverse("records:careplan_edit", args=[plan.patient_id, plan.pk]), "goals")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert stored(plan) == before


def test_an_overdue_plan_can_be_edited_without_moving_its_review_date(client, nurse, plan):
    CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=2))
    login(client, nurse)
    ignore = ("goals", "version")
    before = stored(plan, ignore=ignore)
    url = reverse("records:careplan_edit", args=[plan.patient_id, plan.pk])
    response = _round_trip(client, url, "goals", goals="No falls")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert stored(plan, ignore=ignore) == before
    assert CarePlan.objects.get(pk=plan.pk).goals == "No falls"


def test_a_plan_keeps_a_struck_problem_and_a_responsible_person_who_left(client, nurse, doctor, plan):
    services.entry_mark_error(marked_by=doctor, entry=plan.problem, reason="Wrong patient's diagnosis")
    plan.responsible.is_active = False
    plan.responsible.save()
    login(client, doctor)
    before = stored(plan)
    response = _round_trip(client, reverse("records:careplan_edit", args=[plan.patient_id, plan.pk]), "goals")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert stored(plan) == before


def test_the_review_date_is_an_iso_date_input(client, nurse, plan):
    login(client, nurse)
    html = client.get(reverse("records:careplan_edit", args=[plan.patient_id, plan.pk])).content.decode()
    assert f'type="date" name="review_date" value="{plan.review_date.isoformat()}"' in html


# -- subject access ------------------------------------------------------------------------------------


def test_logging_a_request_keeps_the_received_date_shown(client, admin_user, patient):
    login(client, admin_user)
    response = _round_trip(
        client,
        reverse("records:sar_create", args=[patient.pk]),
        "requester_description",
        requester_description="Self, by letter",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    sar = SubjectAccessRequest.objects.get()
    assert sar.received_on == timezone.localdate()


# -- notes ---------------------------------------------------------------------------------------------


@pytest.fixture
def signed_note(patient, nurse):
    template = NoteTemplate.objects.create(
        name="Round trip",
        note_type=NoteType.WARD_ROUND,
        fields=[
            {"key": "plan", "label": "Plan", "kind": "textarea", "required": True},
            {"key": "news2", "label": "NEWS2 score", "kind": "number"},
            {"key": "weight", "label": "Weight", "kind": "number"},
            {"key": "escalation", "label": "Escalation", "kind": "choice", "choices": ["Full", "Ward"]},
            {"key": "dnacpr", "label": "DNACPR in place", "kind": "yes_no"},
            {"key": "review_on", "label": "Review on", "kind": "date"},
        ],
    )
    return services.note_start(
        author=nurse,
        patient=patient,
        template=template,
        values={
            "plan": "Oral antibiotics\nReview bloods",
            "news2": 3,
            "weight": 1234.5,
            "escalation": "Ward",
            "dnacpr": False,
            "review_on": date(2026, 3, 15),
        },
        free_text="Seen with family\nAgreed plan",
        sign=True,
    )


def test_a_note_amended_untouched_is_refused_as_unchanged(client, nurse, admitted, signed_note):
    login(client, nurse)
    before = stored(signed_note)
    url = reverse("records:note_amend", args=[signed_note.patient_id, signed_note.pk])
    response = _round_trip(client, url, "reason", reason="Checked")
    assert b"Nothing was changed" in response.content
    assert stored(signed_note) == before


def test_changing_one_note_field_keeps_the_others(client, nurse, admitted, signed_note):
    login(client, nurse)
    url = reverse("records:note_amend", args=[signed_note.patient_id, signed_note.pk])
    response = _round_trip(client, url, "reason", reason="Escalated", escalation="Full")
    assert response.status_code == 302, response.content.decode()[:3000]
    note = ClinicalNote.objects.get(pk=signed_note.pk)
    assert note.values == {**signed_note.values, "escalation": "Full"}
    assert note.free_text == signed_note.free_text


# -- rendering rules every form shares ------------------------------------------------------------------


def test_date_widgets_render_iso_values():

    assert 'value="1948-06-01"' in DateInput().render("d", date(1948, 6, 1))
    moment = timezone.make_aware(timezone.datetime(2026, 3, 15, 9, 30))
    assert 'value="2026-03-15T09:30"' in DateTimeInput().render("t", moment)


# -- every edit form's descriptions point at something ---------------------------------------------------


def _dangling(html: str) -> set[str]:
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = {i for value in re.findall(r'aria-describedby="([^"]+)"', html) for i in value.split()}
    return described - ids


def test_no_edit_form_describes_itself_with_an_id_that_is_not_there(
    client, clerk, nurse, doctor, admin_user, full_patient, allergy, problem, plan, signed_note
):
    # (who, page, whether to post it empty for a page full of errors)
    pages = [
        (clerk, reverse("records:patient_edit", args=[full_patient.pk]), True),
        (clerk, reverse("records:patient_register"), True),
        (clerk, reverse("records:patient_search") + "?name=ok&date_of_birth_day=40", False),
        (nurse, reverse("records:entry_amend", args=[allergy.patient_id, "allergies", allergy.pk]), True),
        (doctor, reverse("records:entry_amend", args=[problem.patient_id, "problems", problem.pk]), True),
        (nurse, reverse("records:careplan_edit", args=[plan.patient_id, plan.pk]), True),
        (nurse, reverse("records:careplan_list", args=[plan.patient_id]), False),
        (nurse, reverse("records:note_amend", args=[signed_note.patient_id, signed_note.pk]), True),
        (admin_user, reverse("records:sar_create", args=[full_patient.pk]), True),
    ]
    for user, url, post in pages:
        login(client, user)
        html = client.get(url).content.decode()
        assert not _dangling(html), (url, _dangling(html))
        if post:
            html = client.post(url, {"version": "1"}).content.decode()
            assert "nhsuk-error-message" in html, url
            assert not _dangling(html), (url, _dangling(html))


def test_line_breaks_stored_by_the_old_forms_become_lf(allergy, plan, signed_note):

    lf_migration = importlib.import_module("records.migrations.0016_textarea_line_breaks_as_lf")
    AllergyIntolerance.objects.filter(pk=allergy.pk).update(note="Seen\r\nPhotographed")
    CarePlan.objects.filter(pk=plan.pk).update(goals="No falls\r\nWalks")
    ClinicalNote.objects.filter(pk=signed_note.pk).update(
        values={**signed_note.values, "plan": "Oral\r\nReview"}, free_text="Seen\r\nAgreed"
    )
    lf_migration._lf(apps, None)
    assert AllergyIntolerance.objects.get(pk=allergy.pk).note == "Seen\nPhotographed"
    assert CarePlan.objects.get(pk=plan.pk).goals == "No falls\nWalks"
    note = ClinicalNote.objects.get(pk=signed_note.pk)
    assert (note.values["plan"], note.free_text, note.values["news2"]) == ("Oral\nReview", "Seen\nAgreed", 3)


def test_each_care_plans_review_form_has_its_own_ids(client, nurse, plan, team):
    services.careplan_create(
        created_by=nurse,
        patient=plan.patient,
        need="Pressure areas",
        goals="Skin intact",
        interventions="Turn two-hourly",
        responsible=nurse,
        team=team,
        review_date=timezone.localdate() + timedelta(days=1),
    )
    login(client, nurse)
    html = client.get(reverse("records:careplan_list", args=[plan.patient_id])).content.decode()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert f'for="id_plan{plan.pk}_outcome"' in html
