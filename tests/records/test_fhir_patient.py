"""The FHIR Patient API: every response body is checked against the fhir.resources R4B models."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from epr.audit.models import Action, AuditEvent
from epr.fhir.resources import parse_resource
from records.fhir import patients as fhir
from records.models import Patient, PatientStatus
from records.services import DEMOGRAPHIC_FIELDS, patient_update
from tests.factories import PatientFactory, valid_nhs_number
from tests.records.support import new_patient_resource
from tests.support import assert_outcome, body_of, signed_in, token_client

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
NHS = fhir.NHS_NUMBER_SYSTEM


def send(client: Client, method: str, url: str, body: Any, **headers: Any):
    payload = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, payload, content_type=FHIR_JSON, **headers)


@pytest.fixture
def system_client(client):
    """A PAS feed with read and write scopes, signed in by the client-credentials grant."""
    return token_client(client, "PAS feed", ["system/Patient.read", "system/Patient.write"])


# --- CapabilityStatement --------------------------------------------------------------------------


def test_metadata_describes_patient_without_sign_in(client):
    response = client.get("/fhir/metadata")

    assert response.status_code == 200
    body = body_of(response, "CapabilityStatement")
    patient = next(r for r in body["rest"][0]["resource"] if r["type"] == "Patient")
    assert patient["profile"] == fhir.PROFILE
    assert {i["code"] for i in patient["interaction"]} == {"read", "create", "update", "search-type"}
    assert {"identifier", "family", "given", "birthdate"} <= {p["name"] for p in patient["searchParam"]}
    assert body["implementation"]["url"] == "http://testserver/fhir"


def test_unknown_endpoint_is_an_operation_outcome(client, nurse):
    assert_outcome(client.get("/fhir/Basic"), 404, "not-supported")  # a type nobody registers
    assert_outcome(signed_in(nurse).get("/fhir/Patient/not-a-number"), 404)


# --- Read -----------------------------------------------------------------------------------------


def test_treating_nurse_reads_uk_core_patient_and_is_audited(admitted, nurse):
    patient = admitted.patient

    response = signed_in(nurse).get(f"/fhir/Patient/{patient.pk}", HTTP_ACCEPT=FHIR_JSON)

    assert response.status_code == 200
    assert response["ETag"] == f'W/"{patient.version}"'
    body = body_of(response, "Patient")
    assert body["id"] == str(patient.pk)
    assert body["meta"]["versionId"] == str(patient.version)
    assert body["meta"]["profile"] == [fhir.PROFILE]
    nhs = next(i for i in body["identifier"] if i["system"] == NHS)
    assert nhs["value"] == "9990000018"
    status = nhs["extension"][0]
    assert status["url"] == fhir.VERIFICATION_STATUS_URL
    assert status["valueCodeableConcept"]["coding"][0] == {
        "system": fhir.VERIFICATION_STATUS_SYSTEM,
        "code": "01",
        "display": "Number present and verified",
    }
    assert {"system": fhir.hospital_number_system(), "value": patient.hospital_number} in body["identifier"]
    assert body["name"][0] == {"use": "official", "family": "Smith", "given": ["John"]}
    assert body["active"] is True
    assert body["deceasedBoolean"] is False
    event = AuditEvent.objects.filter(patient_id=patient.pk, action=Action.VIEW).latest("id")
    assert (event.channel, event.user_id, event.api_client) == ("api", nurse.pk, "")


def test_outside_nurse_is_refused_with_operation_outcome_and_the_refusal_is_audited(admitted, outsider):
    response = signed_in(outsider).get(f"/fhir/Patient/{admitted.patient.pk}")

    assert_outcome(response, 403, "forbidden")
    event = AuditEvent.objects.get(patient_id=admitted.patient.pk, user_id=outsider.pk)
    assert (event.action, event.channel) == (Action.DENIED, "api")


def test_clerk_reads_demographics_by_role_with_plain_json(patient, clerk):
    response = signed_in(clerk).get(f"/fhir/Patient/{patient.pk}/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body_of(response, "Patient")


def test_unknown_patient_is_404(nurse):
    assert_outcome(signed_in(nurse).get("/fhir/Patient/987654321"), 404, "not-found")


def test_no_credentials_is_401_operation_outcome(client, patient):
    response = client.get(f"/fhir/Patient/{patient.pk}")

    assert_outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bad_bearer_token_is_401(patient):
    response = Client(HTTP_AUTHORIZATION="Bearer not-a-token").get(f"/fhir/Patient/{patient.pk}")

    assert_outcome(response, 401, "login")


def test_merged_record_links_to_the_survivor(patient):
    survivor = PatientFactory()
    Patient.objects.filter(pk=patient.pk).update(status=PatientStatus.MERGED, merged_into=survivor)
    patient.refresh_from_db()

    resource = fhir.patient_resource(patient)

    assert resource["active"] is False
    assert resource["link"] == [{"other": {"reference": f"Patient/{survivor.pk}"}, "type": "replaced-by"}]


# --- Mapping --------------------------------------------------------------------------------------


def test_every_mapped_field_survives_a_round_trip():
    patient = PatientFactory(
        title="Dr",
        family_name="O'Brien",
        given_names="Zoë Mary",
        preferred_name="Zoe",
        date_of_birth=date(1970, 5, 1),
        date_of_death=date(2024, 1, 2),
        sex="female",
        address_line_1="1 High Street",
        address_line_2="Flat 2",
        town="Leeds",
        postcode="LS1 4AP",
        phone="0113 496 0000",
        email="zoe@example.org",
        gp_practice_code="B86001",
        gp_practice_name="Park Surgery",
        next_of_kin_name="Sean O'Brien",
        next_of_kin_relationship="Husband",
        next_of_kin_phone="07700 900123",
        ethnic_category="B",
        preferred_language="Irish",
        interpreter_required=True,
        nhs_number_status="02",
    )

    resource = fhir.patient_resource(patient)
    values = fhir.demographics_from_resource(parse_resource(resource, "Patient"))

    assert set(values) <= set(DEMOGRAPHIC_FIELDS)
    assert values == {name: getattr(patient, name) for name in values}
    assert resource["deceasedDateTime"] == "2024-01-02"
    assert resource["generalPractitioner"][0]["identifier"] == {"system": fhir.ODS_SYSTEM, "value": "B86001"}
    assert (
        resource["extension"][0]["valueCodeableConcept"]["coding"][0]["system"] == fhir.ETHNIC_CATEGORY_SYSTEM
    )


# --- Create ---------------------------------------------------------------------------------------


def test_clerk_registers_a_patient(clerk):
    response = send(signed_in(clerk), "post", "/fhir/Patient", new_patient_resource())

    assert response.status_code == 201, response.content
    body = body_of(response, "Patient")
    patient = Patient.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver/fhir/Patient/{patient.pk}"
    assert response["ETag"] == 'W/"1"'
    assert (patient.nhs_number, patient.nhs_number_status) == ("9990001170", "01")
    assert (patient.family_name, patient.given_names, patient.title) == ("Nowak", "Zofia Anna", "Mrs")
    assert patient.postcode == "LS1 4AP"
    assert (patient.next_of_kin_name, patient.next_of_kin_relationship) == ("Ewa Nowak", "Daughter")
    assert patient.gp_practice_code == "B86001"
    assert patient.interpreter_required is True
    event = AuditEvent.objects.get(patient_id=patient.pk, action=Action.CREATE)
    assert (event.channel, event.user_id) == ("api", clerk.pk)


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"identifier": [{"system": NHS, "value": "9990001171"}]}, "Patient.identifier"),
        ({"identifier": [{"system": NHS, "value": "12345"}]}, "Patient.identifier"),
        ({"gender": "bloke"}, "Patient.gender"),
        ({"birthDate": "1956"}, "Patient.birthDate"),
        ({"name": [{"family": "x" * 101}]}, "Patient.name.family"),
        ({"telecom": [{"system": "email", "value": "not an address"}]}, "Patient.telecom"),
    ],
)
def test_invalid_values_are_400_and_register_nothing(clerk, change, expression):
    response = send(signed_in(clerk), "post", "/fhir/Patient", new_patient_resource(**change))

    body = assert_outcome(response, 400)
    assert body["issue"][0]["expression"] == [expression]
    assert not Patient.objects.exists()


def test_duplicate_nhs_number_is_refused(clerk, patient):
    resource = new_patient_resource(identifier=[{"system": NHS, "value": patient.nhs_number}])

    response = send(signed_in(clerk), "post", "/fhir/Patient", resource)

    assert_outcome(response, 422, "business-rule")
    assert Patient.objects.count() == 1


def test_future_birth_date_is_a_business_rule_refusal(clerk):
    response = send(signed_in(clerk), "post", "/fhir/Patient", new_patient_resource(birthDate="2999-01-01"))

    assert assert_outcome(response, 422)["issue"][0]["expression"] == ["Patient.birthDate"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"resourceType": "Observation", "status": "final"}, "invalid"),
        ("{not json", "structure"),
        ([], "structure"),
        ({"resourceType": "Patient", "gender": 7, "birthDate": "yesterday"}, "structure"),
    ],
)
def test_bad_bodies_are_400(clerk, body, code):
    response = send(signed_in(clerk), "post", "/fhir/Patient", body)

    assert_outcome(response, 400, code)
    assert not Patient.objects.exists()


def test_nurse_without_register_permission_is_refused(nurse):
    response = send(signed_in(nurse), "post", "/fhir/Patient", new_patient_resource())

    assert_outcome(response, 403, "forbidden")
    assert not Patient.objects.exists()


# --- Update ---------------------------------------------------------------------------------------


def read_back(client: Client, patient: Patient) -> dict[str, Any]:
    return body_of(client.get(f"/fhir/Patient/{patient.pk}"), "Patient")


def test_update_with_if_match_saves_a_new_version(patient, clerk):
    client = signed_in(clerk)
    resource = read_back(client, patient)
    resource["name"][0]["family"] = "Smythe"

    response = send(client, "put", f"/fhir/Patient/{patient.pk}", resource, HTTP_IF_MATCH='W/"1"')

    assert response.status_code == 200, response.content
    assert response["ETag"] == 'W/"2"'
    assert body_of(response, "Patient")["meta"]["versionId"] == "2"
    patient.refresh_from_db()
    assert (patient.family_name, patient.version) == ("Smythe", 2)
    assert AuditEvent.objects.filter(patient_id=patient.pk, action=Action.UPDATE, channel="api").exists()


def test_update_takes_the_version_from_meta_when_there_is_no_if_match(patient, clerk):
    client = signed_in(clerk)
    resource = read_back(client, patient)
    resource["birthDate"] = "1950-01-01"

    response = send(client, "put", f"/fhir/Patient/{patient.pk}", resource)

    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.date_of_birth == date(1950, 1, 1)


def test_stale_update_is_409_and_changes_nothing(patient, clerk):
    client = signed_in(clerk)
    resource = read_back(client, patient)
    patient_update(updated_by=clerk, patient=patient, expected_version=1, changes={"phone": "01632 960000"})
    resource["name"][0]["family"] = "Smythe"

    response = send(client, "put", f"/fhir/Patient/{patient.pk}", resource, HTTP_IF_MATCH='W/"1"')

    assert_outcome(response, 409, "conflict")
    patient.refresh_from_db()
    assert (patient.family_name, patient.version) == ("Smith", 2)


@pytest.mark.parametrize(
    ("change", "headers"),
    [
        ({"meta": None}, {}),
        ({"id": "999"}, {"HTTP_IF_MATCH": 'W/"1"'}),
        ({}, {"HTTP_IF_MATCH": "yesterday"}),
    ],
)
def test_update_needs_a_version_and_the_right_id(patient, clerk, change, headers):
    client = signed_in(clerk)
    resource = {**read_back(client, patient), **change}
    resource = {k: v for k, v in resource.items() if v is not None}

    response = send(client, "put", f"/fhir/Patient/{patient.pk}", resource, **headers)

    assert_outcome(response, 400)
    patient.refresh_from_db()
    assert patient.version == 1


def test_treating_nurse_updates_through_the_care_relationship(admitted, nurse):
    patient = admitted.patient
    client = signed_in(nurse)
    resource = read_back(client, patient)
    resource["telecom"] = [{"system": "phone", "value": "01632 960001"}]

    response = send(client, "put", f"/fhir/Patient/{patient.pk}/", resource, HTTP_IF_MATCH='W/"1"')

    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.phone == "01632 960001"


def test_outside_nurse_cannot_update(admitted, outsider, nurse):
    patient = admitted.patient
    resource = read_back(signed_in(nurse), patient)
    resource["name"][0]["family"] = "Smythe"

    response = send(
        signed_in(outsider), "put", f"/fhir/Patient/{patient.pk}", resource, HTTP_IF_MATCH='W/"1"'
    )

    assert_outcome(response, 403, "forbidden")
    patient.refresh_from_db()
    assert patient.family_name == "Smith"


# --- Search ---------------------------------------------------------------------------------------


def search(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/fhir/Patient", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def found_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_search_by_nhs_number_returns_identity_fields_and_is_audited(patient, outsider):
    PatientFactory()

    bundle = search(signed_in(outsider), identifier=f"{NHS}|{patient.nhs_number}")

    assert (bundle["type"], bundle["total"], found_ids(bundle)) == ("searchset", 1, [str(patient.pk)])
    resource = bundle["entry"][0]["resource"]
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"
    assert "telecom" not in resource
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Patient/{patient.pk}"
    event = AuditEvent.objects.get(action=Action.SEARCH, user_id=outsider.pk)
    assert event.channel == "api"
    assert event.detail == {"criteria": ["nhs_number"], "patients": [patient.pk]}


def test_search_by_hospital_number(patient, clerk):
    bundle = search(signed_in(clerk), identifier=f"{fhir.hospital_number_system()}|{patient.hospital_number}")

    assert found_ids(bundle) == [str(patient.pk)]


def test_family_search_ignores_case_and_accents_and_only_matches_the_family_name(clerk):
    zoe = PatientFactory(family_name="Ó Briain", given_names="Zoë")
    PatientFactory(family_name="Jones", given_names="Briain")
    client = signed_in(clerk)

    assert found_ids(search(client, family="o briain")) == [str(zoe.pk)]
    assert found_ids(search(client, family="BRIAIN")) == [str(zoe.pk)]
    assert found_ids(search(client, family="Bri", given="zoe")) == [str(zoe.pk)]


def test_given_and_birthdate_search(clerk):
    anna = PatientFactory(family_name="Kowalska", given_names="Anna", date_of_birth=date(1980, 2, 3))
    PatientFactory(family_name="Kowalska", given_names="Anna", date_of_birth=date(1981, 2, 3))
    client = signed_in(clerk)

    assert found_ids(search(client, given="anna", birthdate="1980-02-03")) == [str(anna.pk)]
    assert found_ids(search(client, family="Ko", birthdate="eq1980-02-03")) == [str(anna.pk)]


def test_search_pages_with_count_and_offset(clerk):
    PatientFactory.create_batch(25, family_name="Evans")
    client = signed_in(clerk)

    first = search(client, family="evans", _count="10")
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert (first["total"], len(first["entry"])) == (25, 10)
    assert "previous" not in links
    next_url = urlsplit(links["next"])
    second = body_of(client.get(f"{next_url.path}?{next_url.query}"), "Bundle")
    third = search(client, family="evans", _count="10", _offset="20")

    assert len(second["entry"]) == 10
    assert "_offset=10" in links["next"]
    assert len(third["entry"]) == 5
    assert "next" not in {link["relation"] for link in third["link"]}
    assert len(set(found_ids(first) + found_ids(second) + found_ids(third))) == 25


def test_count_is_capped_at_100(clerk):
    bundle = search(signed_in(clerk), family="evans", _count="500")

    assert "_count=100" in bundle["link"][0]["url"]


@pytest.mark.parametrize(
    "params",
    [
        {"name": "smith"},
        {"family:exact": "Smith"},
        {"family": "smith", "_sort": "family"},
        {"identifier": "9990000018"},
        {"identifier": "https://example.org/id|1"},
        {"birthdate": "ge1980-01-01", "family": "smith"},
        {"family": "smith", "_count": "0"},
        {"family": "smith", "_offset": "-1"},
        {"family": "sm"},
        {},
    ],
)
def test_bad_searches_are_400(clerk, params):
    assert_outcome(signed_in(clerk).get("/fhir/Patient", params), 400)


# --- System clients (client credentials) ---------------------------------------------------------


def test_system_client_searches_reads_creates_and_updates_end_to_end(system_client, patient):
    bundle = search(system_client, identifier=f"{NHS}|{patient.nhs_number}")
    assert found_ids(bundle) == [str(patient.pk)]
    assert "tag" not in bundle["entry"][0]["resource"]["meta"]

    read = system_client.get(f"/fhir/Patient/{patient.pk}")
    assert read.status_code == 200
    created = send(system_client, "post", "/fhir/Patient", new_patient_resource())
    assert created.status_code == 201, created.content
    resource = body_of(created, "Patient")
    resource["address"][0]["postalCode"] = "LS2 9JT"
    updated = send(system_client, "put", created["Location"], resource, HTTP_IF_MATCH=created["ETag"])
    assert updated.status_code == 200, updated.content

    assert Patient.objects.get(pk=resource["id"]).postcode == "LS2 9JT"
    events = AuditEvent.objects.filter(api_client="PAS feed")
    assert {e.action for e in events} == {Action.SEARCH, Action.VIEW, Action.CREATE, Action.UPDATE}
    assert {(e.channel, e.user_id) for e in events} == {("api", None)}


def test_read_only_client_cannot_create(client, patient):
    reader = token_client(client, "Results viewer", ["system/*.read"])

    assert reader.get(f"/fhir/Patient/{patient.pk}").status_code == 200
    response = send(reader, "post", "/fhir/Patient", new_patient_resource())

    assert_outcome(response, 403, "forbidden")
    assert Patient.objects.count() == 1


# --- Query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how_many", [5, 50])
@pytest.mark.parametrize("caller", ["staff", "system"])
def test_search_query_count_does_not_grow_with_the_data(
    client, clerk, how_many, caller, django_assert_max_num_queries
):
    for n in range(how_many):
        PatientFactory(family_name="Evans", nhs_number=valid_nhs_number(500 + n))
    api = signed_in(clerk) if caller == "staff" else token_client(client, "Feed", ["system/*.read"])

    # 3 of them open the request's transaction (a savepoint here), set its statement timeout, release it.
    with django_assert_max_num_queries(11):
        bundle = search(api, family="evans", _count="100")

    assert bundle["total"] == how_many
