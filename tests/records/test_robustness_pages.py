"""Odd input on the record pages never gives a 500 and saves nothing: garbled ids, dates, versions and
codes are form errors or polite refusals."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from records import services
from records.models import (
    AllergyIntolerance,
    ObservationSet,
    WardStay,
)
from tests.factories import PatientFactory
from tests.support import client_for

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUP2 = "\u00b2"  # SUPERSCRIPT TWO: str.isdigit() is True, int() refuses it

# -- 500s on the record pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["ward=abc", "ward=1.5", "ward=%20"],
)
def test_free_beds_with_a_non_numeric_ward_is_not_a_500(nurse, query):
    # views.free_beds: Ward.objects.filter(pk="abc") raises ValueError.
    response = client_for(nurse).get(f"/beds/free/?{query}")
    assert response.status_code < 500


def test_free_beds_with_odd_numbers_lists_nothing(nurse):
    for ward in ("-1", "99999999999999999999999", ""):
        response = client_for(nurse).get("/beds/free/", {"ward": ward})
        assert response.status_code == 200
        assert b"No bed yet" in response.content


@pytest.mark.parametrize("view", ["patient_admit", "patient_transfer"])
def test_admit_or_transfer_with_a_non_numeric_ward_is_a_form_error(clerk, admitted, view):
    # forms.PlaceForm.__init__: Bed.objects.filter(ward_id="abc") raises ValueError.
    patient = (
        PatientFactory(family_name="Jones", nhs_number="") if view == "patient_admit" else admitted.patient
    )
    response = client_for(clerk).post(
        reverse(f"records:{view}", args=[patient.pk]), {"ward": "abc", "version": "1"}
    )
    assert response.status_code == 200
    assert WardStay.objects.count() == 1


@pytest.mark.parametrize(
    "before",
    ["2026-13-45T10:00", "2026-02-30T10:00", "2026-01-01T10:00+99:00", "2026-01-01T25:00"],
)
def test_observation_chart_with_an_impossible_before_is_not_a_500(nurse, admitted, before):
    # views_observations.observation_chart: parse_datetime raises ValueError for well-formed nonsense.
    response = client_for(nurse).get(
        reverse("records:observation_chart", args=[admitted.patient_id]), {"before": before}
    )
    assert response.status_code < 500


def test_observation_chart_ignores_a_before_that_is_not_a_date(nurse, admitted):
    for before in ("yesterday", "", "2026-13-45"):
        response = client_for(nurse).get(
            reverse("records:observation_chart", args=[admitted.patient_id]), {"before": before}
        )
        assert response.status_code == 200


def test_timeline_until_the_last_representable_day_is_not_a_500(nurse, admitted):
    # views_timeline.patient_timeline: date(9999, 12, 31) + 1 day raises OverflowError.
    response = client_for(nurse).get(
        reverse("records:patient_timeline", args=[admitted.patient_id]), {"until": "9999-12-31"}
    )
    assert response.status_code < 500


def test_entry_history_as_of_the_last_representable_day_is_not_a_500(nurse, admitted):
    # views_timeline.entry_history catches ValueError only; date.max + 1 day raises OverflowError.
    url = reverse("records:entry_history", args=[admitted.patient_id, "admissions", admitted.pk])
    response = client_for(nurse).get(url, {"as_of": "9999-12-31"})
    assert response.status_code < 500


def test_timeline_and_entry_history_refuse_bad_dates_politely(nurse, admitted):
    client = client_for(nurse)
    timeline = reverse("records:patient_timeline", args=[admitted.patient_id])
    for params in (
        {"since": "2026-13-45"},
        {"until": "yesterday"},
        {"kinds": "bogus"},
        {"since": "0001-01-01"},
    ):
        assert client.get(timeline, params).status_code == 200
    history = reverse("records:entry_history", args=[admitted.patient_id, "admissions", admitted.pk])
    for as_of in ("yesterday", "2026-13-45", "0001-01-01", "2026-01-01T10:00+01:00"):
        assert client.get(history, {"as_of": as_of}).status_code == 200
    assert client.get(f"/patients/{admitted.patient_id}/timeline/bogus/1/").status_code == 404


@pytest.mark.parametrize("version", ["abc", SUP2, "-1", ""])
def test_patient_edit_with_a_garbled_version_is_not_a_500(nurse, admitted, version):
    # views.posted_version: "²".isdigit() is True, then int("²") raises ValueError (all five views).
    patient = admitted.patient
    response = client_for(nurse).post(
        reverse("records:patient_edit", args=[patient.pk]), {"version": version}
    )
    assert response.status_code < 500
    patient.refresh_from_db()
    assert patient.version == 1


@pytest.mark.parametrize("version", ["abc", SUP2, "-1", ""])
def test_careplan_edit_with_a_garbled_version_is_not_a_500(nurse, admitted, plan, team, version):
    response = client_for(nurse).post(
        reverse("records:careplan_edit", args=[admitted.patient_id, plan.pk]),
        {
            "need": "Changed",
            "goals": "g",
            "interventions": "i",
            "responsible": plan.responsible_id,
            "review_date": plan.review_date.isoformat(),
            "version": version,
        },
    )
    assert response.status_code < 500
    plan.refresh_from_db()
    assert plan.need == "Pressure area care"


@pytest.mark.parametrize("version", ["abc", SUP2, "-1", ""])
def test_countersign_with_a_garbled_version_is_not_a_500(nurse, colleague, admitted, template, version):
    template.countersign_roles = ["hca"]
    template.save()
    note = services.note_start(
        author=colleague, patient=admitted.patient, template=template, free_text="x", sign=True
    )
    response = client_for(nurse).post(
        reverse("records:note_countersign", args=[admitted.patient_id, note.pk]), {"version": version}
    )
    assert response.status_code < 500
    note.refresh_from_db()
    assert note.countersigned_by is None


@pytest.mark.parametrize("version", ["abc", SUP2, "-1", ""])
def test_rollback_with_a_garbled_version_is_not_a_500(admin_user, admitted, version):
    patient = admitted.patient
    history_id = patient.history.last().history_id
    response = client_for(admin_user).post(
        reverse("records:patient_rollback", args=[patient.pk, history_id]), {"version": version}
    )
    assert response.status_code < 500
    patient.refresh_from_db()
    assert patient.version == 1


@pytest.mark.parametrize("version", ["abc", SUP2, "-1", ""])
def test_sar_redactions_with_a_garbled_version_is_not_a_500(admin_user, admitted, version):
    sar = services.subject_access_create(
        logged_by=admin_user,
        patient=admitted.patient,
        received_on=timezone.localdate(),
        requester_kind="patient",
    )
    response = client_for(admin_user).post(
        reverse("records:sar_redactions", args=[admitted.patient_id, sar.pk]), {"version": version}
    )
    assert response.status_code < 500
    sar.refresh_from_db()
    assert sar.version == 1


def test_terminology_search_with_a_nul_byte_is_not_a_500(nurse):
    # views_clinical.terminology_search passes the text straight to a PostgreSQL query.
    response = client_for(nurse).get("/terminology/search/", {"q": "pe\x00n"})
    assert response.status_code < 500


@pytest.mark.parametrize(
    ("view", "data"),
    [
        ("allergy_new", {"substance_code": "\x00", "kind": "allergy", "verification": "confirmed"}),
        (
            "problem_new",
            {"snomed_code": "440\x0054006", "clinical_status": "active", "verification": "confirmed"},
        ),
    ],
)
def test_a_nul_byte_in_a_picked_code_is_a_form_error(doctor, admitted, view, data):
    # forms.ConceptPickerMixin.__init__ looks the raw posted code up before the form validates it.
    response = client_for(doctor).post(reverse(f"records:{view}", args=[admitted.patient_id]), data)
    assert response.status_code == 400  # refused at the edge with a message, before any query
    assert b"NUL character" in response.content
    assert not AllergyIntolerance.objects.exists()


def test_terminology_search_takes_any_text(nurse):
    client = client_for(nurse)
    for params in ({"q": "a" * 5000}, {"q": "%%"}, {"q": "ab", "subset": "'\""}, {"q": ""}):
        assert client.get("/terminology/search/", params).status_code == 200


def test_recording_observations_on_a_merged_record_is_refused_not_a_500(nurse, admitted, admin_user):
    duplicate = admitted.patient
    survivor = PatientFactory(family_name="Smith", given_names="John", nhs_number="")
    services.patients_merge(
        merged_by=admin_user, survivor=survivor, duplicate=duplicate, reason="Same person"
    )
    services.break_glass_start(user=nurse, patient=duplicate, reason="Stale ward list, patient deteriorating")
    # views_observations.observations_record handles VitalSignsError only; the service refuses a merged
    # record with RecordError.
    response = client_for(nurse).post(
        reverse("records:observations_record", args=[duplicate.pk]), {"respiration_rate": "18"}
    )
    assert response.status_code < 500
    assert not ObservationSet.objects.filter(patient=duplicate).exists()


@pytest.mark.parametrize(
    "data",
    [
        {"respiration_rate": "-5"},
        {"respiration_rate": "99999999999999999999999"},
        {"pain_score": "-1"},
        {"temperature": "NaN"},
        {"temperature": "Infinity"},
        {"weight": "9999.9"},
        {"oxygen_flow": "5", "on_oxygen": "air"},
        {"consciousness": "Z", "respiration_rate": "18"},
        {"oxygen_device": "zzz", "respiration_rate": "18"},
        {"taken_at": "2026-13-45T10:00", "respiration_rate": "18"},
        {"taken_at": "9999-12-31T23:59", "respiration_rate": "18"},
        {"systolic_bp": "120", "diastolic_bp": "130"},
        {"on_oxygen": "oxygen"},
    ],
)
def test_bad_observations_show_errors_and_save_nothing(nurse, admitted, data):
    response = client_for(nurse).post(
        reverse("records:observations_record", args=[admitted.patient_id]), data
    )
    assert response.status_code == 200
    assert not ObservationSet.objects.exists()
