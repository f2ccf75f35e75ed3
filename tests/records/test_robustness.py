"""Robustness review of every page and API endpoint: odd input never gives a 500, nothing is half-saved,
access goes through the access helper, reads and refusals are audited, drafts stay private, and a
missing or malformed version never overwrites someone else's change.

Tests named test_bug_* show a fault found in review (they fail until it is fixed); the others pin
down behaviour that was checked and found robust.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records import services
from records.access import Level, patient_access
from records.models import (
    AllergyIntolerance,
    CarePlan,
    ClinicalNote,
    NoteTemplate,
    NoteType,
    ObservationSet,
    Patient,
    SubjectAccessRequest,
    WardStay,
)
from tests.factories import PatientFactory
from tests.records.test_pages import login

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUP2 = "\u00b2"  # SUPERSCRIPT TWO: str.isdigit() is True, int() refuses it


def client_for(user) -> Client:
    """A client that answers a crash with a 500 response instead of raising it into the test."""
    client = Client(raise_request_exception=False)
    return login(client, user) if user is not None else client


def outcome(response) -> dict:
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome", body
    return body


def audit_mark() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def audited_patients_since(mark: int) -> set[int]:
    """Patients named by audit rows written after the mark (as patient_id or in a list's detail)."""
    found: set[int] = set()
    for patient_id, detail in AuditEvent.objects.filter(id__gt=mark).values_list("patient_id", "detail"):
        if patient_id:
            found.add(patient_id)
        found.update((detail or {}).get("patients", []))
    return found


@pytest.fixture
def template(db):
    return NoteTemplate.objects.create(
        name="Robustness", note_type=NoteType.WARD_ROUND, fields=[{"key": "x", "label": "X", "kind": "text"}]
    )


@pytest.fixture
def plan(admitted, nurse, team):
    return services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Pressure area care",
        goals="Skin intact",
        interventions="Two-hourly turns",
        responsible=nurse,
        team=team,
        review_date=timezone.localdate() + timedelta(days=3),
    )


def _quantity_observation(patient_ref: str, code: str, value, unit: str, when: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": patient_ref},
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "code": unit, "system": UCUM},
    }


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


# -- 500s on the FHIR API -------------------------------------------------------------------------


def test_patient_search_with_a_huge_offset_is_an_operation_outcome(nurse, admitted):
    # fhir.whole_number has no upper bound; the slice becomes OFFSET 10**20 and PostgreSQL fails.
    response = client_for(nurse).get("/fhir/Patient", {"family": "smith", "_offset": "99999999999999999999"})
    assert response.status_code < 500
    if response.status_code >= 400:
        outcome(response)


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/Observation?patient={sup2}",
        "/fhir/Observation?patient={p}&_count={sup2}",
        "/fhir/Observation?patient={p}&_offset={sup2}",
        "/fhir/AllergyIntolerance?patient={p}&_count={sup2}",
        "/fhir/Condition?patient=Patient/{sup2}",
        "/fhir/AllergyIntolerance/{sup2}",
        "/fhir/Condition/{sup2}{sup2}",
    ],
)
def test_unicode_digits_in_ids_and_numbers_are_refused_not_a_500(nurse, admitted, url):
    # fhir_observation.whole_number / patient_id_param and ClinicalInstanceView.get check str.isdigit(),
    # which accepts "²", then call int().
    response = client_for(nurse).get(url.format(p=admitted.patient_id, sup2=SUP2))
    assert 400 <= response.status_code < 500
    outcome(response)


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        (
            "/fhir/Observation",
            _quantity_observation(f"Patient/{SUP2}", "9279-1", 18, "/min", "2025-01-01T10:00:00Z"),
        ),
        (
            "/fhir/AllergyIntolerance",
            {
                "resourceType": "AllergyIntolerance",
                "patient": {"reference": f"Patient/{SUP2}"},
                "code": {"text": "x"},
            },
        ),
    ],
)
def test_unicode_digits_in_a_subject_reference_are_refused_not_a_500(nurse, admitted, path, resource):
    # fhir_observation_views._subject_id and fhir_clinical_views.patient_id_param: isdigit() then int().
    response = client_for(nurse).post(path, json.dumps(resource), content_type=FHIR_JSON)
    assert 400 <= response.status_code < 500
    outcome(response)


@pytest.mark.parametrize(
    "query",
    [
        "/fhir/Observation?patient={p}&date=9999",
        "/fhir/Observation?patient={p}&date=9999-12",
        "/fhir/Observation?patient={p}&date=9999-12-31",
        "/fhir/Observation?patient={p}&date=2025-01-01T10:00%2B99:00",
        "/fhir/AllergyIntolerance?patient={p}&date=9999-12",
        "/fhir/Condition?patient={p}&onset-date=9999-12-31",
        "/fhir/Condition?patient={p}&recorded-date=2025-01-01T10:00-30:00",
    ],
)
def test_out_of_range_search_dates_are_refused_not_a_500(nurse, admitted, query):
    # fhir_observation.date_range catches ValueError only around datetime(); the end of the range
    # (year 10000, date overflow) and a zone beyond +-24h raise outside it.
    response = client_for(nurse).get(query.format(p=admitted.patient_id))
    assert response.status_code == 400
    outcome(response)


@pytest.mark.parametrize(
    "query",
    [
        "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|%00",
        "/fhir/AllergyIntolerance?patient={p}&code=%00",
        "/fhir/AllergyIntolerance?patient={p}&clinical-status=%00",
        "/fhir/Condition?patient={p}&code=%00",
        "/fhir/Condition?patient={p}&verification-status=%00",
    ],
)
def test_a_nul_byte_in_a_search_token_is_refused_not_a_500(nurse, admitted, query):
    response = client_for(nurse).get(query.format(p=admitted.patient_id))
    assert response.status_code < 500
    if response.status_code >= 400:
        outcome(response)


def test_a_nul_byte_in_a_posted_patient_is_refused_not_a_500(clerk):
    body = {"resourceType": "Patient", "name": [{"family": "Nul\u0000l"}]}
    response = client_for(clerk).post("/fhir/Patient", json.dumps(body), content_type=FHIR_JSON)
    assert response.status_code == 400
    outcome(response)
    assert not Patient.objects.filter(family_name__startswith="Nul").exists()


def test_an_effective_time_that_overflows_utc_is_refused_not_a_500(nurse, admitted):
    # fhir_observation._taken_at: astimezone(UTC) of 0001-01-01T00:00+14:00 raises OverflowError.
    resource = _quantity_observation(
        f"Patient/{admitted.patient_id}", "9279-1", 18, "/min", "0001-01-01T00:00:00+14:00"
    )
    response = client_for(nurse).post("/fhir/Observation", json.dumps(resource), content_type=FHIR_JSON)
    assert response.status_code == 400
    outcome(response)
    assert not ObservationSet.objects.exists()


def test_a_date_of_death_that_overflows_is_refused_not_a_500(clerk):
    # fhir._birth_and_death: timezone.localtime(9999-12-31T23:59:59-14:00) raises OverflowError.
    body = {
        "resourceType": "Patient",
        "name": [{"family": "Late"}],
        "deceasedDateTime": "9999-12-31T23:59:59-14:00",
    }
    response = client_for(clerk).post("/fhir/Patient", json.dumps(body), content_type=FHIR_JSON)
    assert response.status_code == 400
    outcome(response)


@pytest.mark.parametrize(("code", "unit"), [("29463-7", "kg"), ("8310-5", "Cel"), ("8302-2", "cm")])
def test_an_absurdly_large_measurement_is_refused_not_a_500(nurse, admitted, code, unit):
    # fhir_observation._field_value quantizes (and news2.round_temperature rounds) before the range
    # check, and decimal.InvalidOperation escapes.
    resource = _quantity_observation(
        f"Patient/{admitted.patient_id}", code, 1e30, unit, "2025-01-01T10:00:00Z"
    )
    response = client_for(nurse).post("/fhir/Observation", json.dumps(resource), content_type=FHIR_JSON)
    assert 400 <= response.status_code < 500
    outcome(response)
    assert not ObservationSet.objects.exists()


def test_deeply_nested_json_is_refused_not_a_500(clerk):
    # epr.fhir.renderers: DRF's JSONParser turns ValueError into a ParseError, but json's RecursionError
    # escapes as a 500 (before any permission check, for any signed-in user).
    depth = 100_000
    response = client_for(clerk).post("/fhir/Patient", "[" * depth + "]" * depth, content_type=FHIR_JSON)
    assert response.status_code == 400
    outcome(response)


@pytest.mark.parametrize(
    "query",
    [
        "family=smith&_count=-1",
        "family=smith&_count=abc",
        "family=smith&_offset=-1",
        "family=smith&birthdate=2026-13-45",
        "family=smith&family=jones",
        "identifier=urn:x|123",
        "family=smith&bogus=1",
        "family=s",
    ],
)
def test_bad_patient_searches_are_operation_outcomes(nurse, admitted, query):
    response = client_for(nurse).get(f"/fhir/Patient?{query}")
    assert response.status_code == 400
    outcome(response)


@pytest.mark.parametrize("body", ["[]", "null", "1", '"x"', '{"resourceType": "Patient", "name": "x"}', "{"])
def test_bad_patient_bodies_are_operation_outcomes(clerk, body):
    response = client_for(clerk).post("/fhir/Patient", body, content_type=FHIR_JSON)
    assert response.status_code == 400
    outcome(response)
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_wrong_content_types_are_refused(clerk, content_type):
    response = client_for(clerk).post(
        "/fhir/Patient", '{"resourceType": "Patient"}', content_type=content_type
    )
    assert response.status_code == 415
    outcome(response)


@pytest.mark.parametrize("method", ["delete", "patch", "put"])
def test_unsupported_methods_are_operation_outcomes(nurse, admitted, method):
    allergy = services.allergy_record(recorded_by=nurse, patient=admitted.patient, substance_text="Latex")
    response = getattr(client_for(nurse), method)(f"/fhir/AllergyIntolerance/{allergy.pk}")
    assert response.status_code == 405
    outcome(response)
    assert AllergyIntolerance.objects.filter(pk=allergy.pk).exists()


def test_the_api_refuses_anonymous_and_unrelated_callers_and_audits_the_refusal(outsider, admitted):
    p = admitted.patient_id
    for url in (f"/fhir/Patient/{p}", f"/fhir/Observation?patient={p}"):
        assert client_for(None).get(url).status_code == 401
    mark = audit_mark()
    for url in (f"/fhir/Patient/{p}", f"/fhir/Observation?patient={p}", f"/fhir/Condition?patient={p}"):
        response = client_for(outsider).get(url)
        assert response.status_code == 403
        assert b"Smith" not in response.content
    assert AuditEvent.objects.filter(id__gt=mark, action=Action.DENIED, patient_id=p).count() == 3


def test_a_refused_transaction_bundle_still_audits_the_refusal(outsider, admitted):
    p = admitted.patient_id
    observation = _quantity_observation(f"Patient/{p}", "9279-1", 18, "/min", "2025-01-01T10:00:00Z")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": observation, "request": {"method": "POST", "url": "Observation"}}],
    }
    mark = audit_mark()
    response = client_for(outsider).post("/fhir/", json.dumps(bundle), content_type=FHIR_JSON)
    assert response.status_code == 403
    assert not ObservationSet.objects.exists()
    # fhir_observation_views.TransactionView: clinical_access writes the DENIED row inside the
    # transaction.atomic() that the refusal then rolls back (POST /fhir/Observation keeps it).
    assert AuditEvent.objects.filter(id__gt=mark, action=Action.DENIED, patient_id=p).exists()


# -- access through the one helper ------------------------------------------------------------------


def test_overdue_care_plans_are_not_shown_without_a_care_relationship(admitted, nurse, outsider):
    plan = services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Alcohol withdrawal plan",
        goals="g",
        interventions="i",
        responsible=outsider,  # any clinician can be named responsible
        review_date=timezone.localdate() + timedelta(days=3),
    )
    CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=1))
    assert patient_access(outsider, admitted.patient).level == Level.NONE
    # selectors.overdue_careplans_for selects by responsible/team/ward without asking records.access.
    response = client_for(outsider).get(reverse("records:careplans_overdue"))
    assert response.status_code == 200
    assert b"Alcohol withdrawal plan" not in response.content
    assert admitted.patient.display_name.encode() not in response.content


def test_alerts_are_not_shown_once_access_to_the_patient_has_ended(
    admitted, nurse, colleague, clerk, other_ward
):
    obs = services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        respiration_rate=30,
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=Decimal("37"),
    )
    services.alert_raise_for_set(obs=obs)
    services.encounter_transfer(transferred_by=clerk, encounter=admitted, ward=other_ward, bed=None)
    services.withdraw_ended_care_relationships(now=timezone.now() + timedelta(days=2))
    assert patient_access(nurse, admitted.patient).level == Level.NONE
    # selectors.alerts_for_user selects by recipient group only.
    response = client_for(nurse).get(reverse("records:alert_list"))
    assert admitted.patient.display_name.encode() not in response.content


@pytest.mark.parametrize(
    "url",
    [
        "patient_detail",
        "observation_chart",
        "note_list",
        "allergy_list",
        "careplan_list",
        "patient_timeline",
        "patient_history",
    ],
)
def test_an_outsider_is_refused_without_seeing_the_record_and_the_refusal_is_audited(outsider, admitted, url):
    services.allergy_record(recorded_by=outsider, patient=admitted.patient, substance_text="Zyxallergen")
    mark = audit_mark()
    response = client_for(outsider).get(reverse(f"records:{url}", args=[admitted.patient_id]))
    assert response.status_code == 403
    assert b"Zyxallergen" not in response.content
    # Only who the patient is (to check it is the right person before breaking glass), no banner.
    assert b"999 000 0018" in response.content and b"patient-banner" not in response.content
    assert AuditEvent.objects.filter(id__gt=mark, action=Action.DENIED).exists()


def test_an_outsider_cannot_write_and_nothing_changes(outsider, admitted, plan):
    client = client_for(outsider)
    p = admitted.patient_id
    posts = [
        (
            reverse("records:allergy_new", args=[p]),
            {"substance_text": "Peanut", "kind": "allergy", "verification": "confirmed"},
        ),
        (reverse("records:observations_record", args=[p]), {"respiration_rate": "18"}),
        (reverse("records:careplan_error", args=[p, plan.pk]), {"reason": "Not mine"}),
        (reverse("records:allergy_none_known", args=[p]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    assert not AllergyIntolerance.objects.exists()
    assert not ObservationSet.objects.exists()
    plan.refresh_from_db()
    assert plan.status == "active"


def test_another_patients_entry_id_in_the_url_is_not_found(nurse, admitted, plan):
    other = PatientFactory(family_name="Other", nhs_number="")
    allergy = services.allergy_record(recorded_by=nurse, patient=other, substance_text="Otherallergen")
    client = client_for(nurse)
    p = admitted.patient_id
    assert client.get(reverse("records:entry_amend", args=[p, "allergies", allergy.pk])).status_code == 404
    assert (
        client.post(
            reverse("records:entry_mark_error", args=[p, "allergies", allergy.pk]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert client.get(reverse("records:entry_history", args=[p, "allergies", allergy.pk])).status_code == 404
    # An entry id of another kind finds nothing either.
    assert client.get(reverse("records:entry_amend", args=[p, "problems", allergy.pk])).status_code == 404
    allergy.refresh_from_db()
    assert allergy.status == "final"


# -- drafts stay private -------------------------------------------------------------------------------


def test_another_clinicians_draft_is_not_found(nurse, doctor, admitted, template):
    draft = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="Draftsecret"
    )
    client = client_for(doctor)
    p = admitted.patient_id
    assert b"Draftsecret" not in client.get(reverse("records:note_list", args=[p])).content
    for url in (
        reverse("records:note_edit", args=[p, draft.pk]),
        reverse("records:note_history", args=[p, draft.pk]),
    ):
        assert client.get(url).status_code == 404
    response = client.get(f"/patients/{p}/timeline/notes/{draft.pk}/")
    assert response.status_code == 404
    assert b"Draftsecret" not in client.get(reverse("records:patient_timeline", args=[p])).content


def test_entry_history_as_of_does_not_show_a_notes_unsigned_draft(nurse, doctor, admitted, template):
    note = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="Early musing"
    )
    note = services.note_sign(
        signed_by=nurse, note=note, expected_version=note.version, free_text="Signed words"
    )
    draft, signed = note.history.order_by("history_date")[:2]
    between = draft.history_date + (signed.history_date - draft.history_date) / 2
    as_of = timezone.localtime(between).replace(tzinfo=None).isoformat()
    # timeline.entry_as_of returns the historical row from before signing, and entry_history shows
    # every field of it, to anyone with clinical access.
    response = client_for(doctor).get(
        f"/patients/{admitted.patient_id}/timeline/notes/{note.pk}/", {"as_of": as_of}
    )
    assert response.status_code < 500
    assert b"Early musing" not in response.content


def test_a_discarded_draft_is_not_in_a_subject_access_export(
    nurse, admin_user, admitted, template, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    draft = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="Half a thought"
    )
    services.note_mark_error(marked_by=nurse, note=draft, reason="Started by mistake")
    sar = services.subject_access_create(
        logged_by=admin_user,
        patient=admitted.patient,
        received_on=timezone.localdate(),
        requester_kind="patient",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_access_queue_generation(requested_by=admin_user, sar=sar)
    client = client_for(admin_user)
    response = client.get(reverse("records:sar_download", args=[admitted.patient_id, sar.pk, "json"]))
    assert response.status_code == 200
    assert b"Half a thought" not in b"".join(response.streaming_content)


def test_subject_access_files_are_only_for_information_governance(
    admin_user, manager, nurse, admitted, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    sar = services.subject_access_create(
        logged_by=admin_user,
        patient=admitted.patient,
        received_on=timezone.localdate(),
        requester_kind="patient",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_access_queue_generation(requested_by=admin_user, sar=sar)
    url = reverse("records:sar_download", args=[admitted.patient_id, sar.pk, "pdf"])
    for user in (manager, nurse):
        assert client_for(user).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302
    other = PatientFactory(family_name="Other", nhs_number="")
    assert (
        client_for(admin_user)
        .get(reverse("records:sar_download", args=[other.pk, sar.pk, "pdf"]))
        .status_code
        == 404
    )
    assert (
        client_for(admin_user)
        .get(reverse("records:sar_download", args=[admitted.patient_id, sar.pk, "exe"]))
        .status_code
        == 404
    )
    assert SubjectAccessRequest.objects.get().status == "ready"


# -- audit of list pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["ward_list", "alert_list", "careplans_overdue", "my_patients"])
def test_list_pages_that_show_patients_audit_the_read(admitted, nurse, doctor, colleague, plan, page):
    obs = services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        respiration_rate=30,
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=Decimal("37"),
    )
    services.alert_raise_for_set(obs=obs)
    CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=1))
    user = doctor if page == "my_patients" else nurse
    mark = audit_mark()
    response = client_for(user).get(reverse(f"records:{page}"))
    assert admitted.patient.display_name.encode() in response.content
    # The patient search page and the subject access deadlines write a list audit row; these do not.
    assert admitted.patient_id in audited_patients_since(mark)


def test_the_search_page_audits_which_patients_it_showed(admitted, nurse):
    mark = audit_mark()
    assert client_for(nurse).get(reverse("records:patient_search"), {"name": "smith"}).status_code == 200
    assert admitted.patient_id in audited_patients_since(mark)


# -- versions: a stale or missing version never overwrites -----------------------------------------------


def _demographics(patient: Patient) -> dict:
    dates = ("date_of_birth", "date_of_death")  # posted as the date input's day, month and year
    data = {f: getattr(patient, f) or "" for f in services.DEMOGRAPHIC_FIELDS if f not in dates}
    data.update(
        date_of_birth_day=patient.date_of_birth.day if patient.date_of_birth else "",
        date_of_birth_month=patient.date_of_birth.month if patient.date_of_birth else "",
        date_of_birth_year=patient.date_of_birth.year if patient.date_of_birth else "",
        temporary_identity="",
        interpreter_required="",
    )
    return data


def test_patient_edit_without_a_version_does_not_overwrite_a_concurrent_change(nurse, clerk, admitted):
    patient = admitted.patient
    form = _demographics(patient)
    services.patient_update(
        updated_by=clerk, patient=patient, expected_version=1, changes={"phone": "01632 960000"}
    )
    # Before 1c744a9 views.patient_edit took a missing version as the current one and saved over this.
    client_for(nurse).post(reverse("records:patient_edit", args=[patient.pk]), {**form, "given_names": "Jon"})
    patient.refresh_from_db()
    assert patient.phone == "01632 960000"


def test_careplan_edit_without_a_version_does_not_overwrite_a_concurrent_change(
    nurse, doctor, admitted, plan
):
    services.careplan_update(
        updated_by=doctor, plan=plan, expected_version=1, changes={"goals": "Doctor's goals"}
    )
    client_for(nurse).post(
        reverse("records:careplan_edit", args=[admitted.patient_id, plan.pk]),
        {
            "need": "Pressure area care",
            "goals": "Nurse's goals",
            "interventions": "Two-hourly turns",
            "responsible": nurse.pk,
            "review_date": plan.review_date.isoformat(),
        },
    )
    plan.refresh_from_db()
    assert plan.goals == "Doctor's goals"


def test_stale_versions_are_refused_with_a_message(nurse, admitted, plan):
    client = client_for(nurse)
    allergy = services.allergy_record(recorded_by=nurse, patient=admitted.patient, substance_text="Latex")
    response = client.post(
        reverse("records:entry_amend", args=[admitted.patient_id, "allergies", allergy.pk]),
        {
            "version": "99999999999999999999",
            "reason": "Update",
            "clinical_status": "active",
            "verification": "confirmed",
        },
    )
    assert response.status_code == 200
    allergy.refresh_from_db()
    assert allergy.version == 1
    response = client.post(
        reverse("records:careplan_edit", args=[admitted.patient_id, plan.pk]),
        {
            "need": "Changed",
            "goals": "g",
            "interventions": "i",
            "responsible": nurse.pk,
            "review_date": plan.review_date.isoformat(),
            "version": "7",
        },
    )
    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.need == "Pressure area care"


# -- methods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["allergy_none_known", "note_countersign", "careplan_review", "break_glass", "sar_generate"],
)
def test_post_only_endpoints_refuse_get_and_change_nothing(admin_user, nurse, admitted, name, plan, template):
    note = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="x", sign=True
    )
    args = {
        "allergy_none_known": [admitted.patient_id],
        "note_countersign": [admitted.patient_id, note.pk],
        "careplan_review": [admitted.patient_id, plan.pk],
        "break_glass": [admitted.patient_id],
        "sar_generate": [admitted.patient_id, 1],
    }[name]
    user = admin_user if name == "sar_generate" else nurse
    assert client_for(user).get(reverse(f"records:{name}", args=args)).status_code == 405
    assert not AllergyIntolerance.objects.exists()
    assert ClinicalNote.objects.get().countersigned_by is None
