"""Odd input on the FHIR API never gives a 500: each refusal is an OperationOutcome, audited."""

from __future__ import annotations

import json

import pytest

from epr.audit.models import Action, AuditEvent
from records import services
from records.models import (
    AllergyIntolerance,
    ObservationSet,
    Patient,
)
from tests.support import audit_mark, client_for, outcome

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUP2 = "\u00b2"  # SUPERSCRIPT TWO: str.isdigit() is True, int() refuses it


def _quantity_observation(patient_ref: str, code: str, value, unit: str, when: str) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": patient_ref},
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "code": unit, "system": UCUM},
    }


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
