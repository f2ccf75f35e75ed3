"""The FHIR AllergyIntolerance and Condition APIs: every response is checked with fhir.resources R4B."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from epr.terminology.models import ConceptMap
from records import services
from records.fhir import clinical as fhir_clinical
from records.models import AllergyIntolerance, Patient, PatientStatus, Problem
from tests.factories import PatientFactory
from tests.records.support import send
from tests.support import assert_outcome, body_of, signed_in, token_client

pytestmark = pytest.mark.django_db

SNOMED, ICD10 = fhir_clinical.SNOMED, fhir_clinical.ICD10
PENICILLIN, PEANUT, LATEX = "764146007", "256349002", "111088007"
ASTHMA, MI, COPD = "195967001", "22298006", "13645005"  # ICD-10 J45.9, I21.9 and J44.9


# --- Helpers --------------------------------------------------------------------------------------


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def status_code(concept: dict[str, Any]) -> str:
    return concept["coding"][0]["code"]


def search(client: Client, resource_type: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def found_ids(bundle: dict[str, Any]) -> list[int]:
    return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]


def recorded_on(entry: AllergyIntolerance | Problem, moment: str) -> None:
    type(entry).objects.filter(pk=entry.pk).update(recorded_at=datetime.fromisoformat(moment))


def allergy_resource(patient_ref: str | None, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    resource = {"resourceType": "AllergyIntolerance", "code": code, **extra}
    if patient_ref:
        resource["patient"] = {"reference": patient_ref}
    return resource


def snomed(code: str) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code}]}


def condition_resource(patient_ref: str | None, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    resource = {"resourceType": "Condition", "code": code, **extra}
    if patient_ref:
        resource["subject"] = {"reference": patient_ref}
    return resource


@pytest.fixture
def penicillin(admitted, nurse) -> AllergyIntolerance:
    return services.allergy_record(
        recorded_by=nurse,
        patient=admitted.patient,
        substance_code=PENICILLIN,
        category="medication",
        reaction="Urticaria",
        severity="moderate",
        criticality="high",
        verification="confirmed",
        note="Reaction in 2019 on amoxicillin",
    )


@pytest.fixture
def asthma(admitted, doctor) -> Problem:
    return services.problem_record(
        recorded_by=doctor,
        patient=admitted.patient,
        snomed_code=ASTHMA,
        onset_date=date(2010, 5, 1),
        note="Childhood onset",
    )


# --- CapabilityStatement --------------------------------------------------------------------------


def test_metadata_describes_both_resources(client):
    body = body_of(client.get("/fhir/metadata"), "CapabilityStatement")

    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    for name, profile in (
        ("AllergyIntolerance", "UKCore-AllergyIntolerance"),
        ("Condition", "UKCore-Condition"),
    ):
        assert resources[name]["profile"].endswith(profile)
        assert {i["code"] for i in resources[name]["interaction"]} == {"read", "create", "search-type"}
        assert {"patient", "code", "category", "date", "clinical-status"} <= {
            p["name"] for p in resources[name]["searchParam"]
        }


# --- Read -----------------------------------------------------------------------------------------


def test_allergy_reads_as_uk_core_allergy_intolerance(penicillin, nurse):
    response = signed_in(nurse).get(f"/fhir/AllergyIntolerance/{penicillin.pk}")

    assert response.status_code == 200, response.content
    body = body_of(response, "AllergyIntolerance")
    assert body["id"] == str(penicillin.pk)
    assert body["meta"] == {"versionId": "1", "profile": [fhir_clinical.ALLERGY_PROFILE]}
    assert response["ETag"] == 'W/"1"'
    assert codes(body["clinicalStatus"]) == {(fhir_clinical.ALLERGY_CLINICAL, "active")}
    assert codes(body["verificationStatus"]) == {(fhir_clinical.ALLERGY_VERIFICATION, "confirmed")}
    assert (body["type"], body["category"], body["criticality"]) == ("allergy", ["medication"], "high")
    assert body["code"]["coding"] == [{"system": SNOMED, "code": PENICILLIN, "display": "Penicillin"}]
    assert body["patient"] == {"reference": f"Patient/{penicillin.patient_id}"}
    assert datetime.fromisoformat(body["recordedDate"]) == penicillin.recorded_at
    assert body["recorder"] == {"type": "Practitioner", "display": str(penicillin.recorded_by)}
    assert body["reaction"] == [{"manifestation": [{"text": "Urticaria"}], "severity": "moderate"}]
    assert body["note"] == [{"text": "Reaction in 2019 on amoxicillin"}]


def test_free_text_allergy_has_text_and_no_coding(admitted, nurse):
    allergy = services.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_text="Elastoplast"
    )

    body = body_of(signed_in(nurse).get(f"/fhir/AllergyIntolerance/{allergy.pk}"), "AllergyIntolerance")

    assert body["code"] == {"text": "Elastoplast"}
    assert "reaction" not in body
    assert "category" not in body


def test_no_known_allergies_maps_to_snomed_716186003(admitted, nurse):
    nka = services.allergy_record_none_known(recorded_by=nurse, patient=admitted.patient)

    body = body_of(signed_in(nurse).get(f"/fhir/AllergyIntolerance/{nka.pk}"), "AllergyIntolerance")

    assert codes(body["code"]) == {(SNOMED, "716186003")}
    assert body["code"]["text"] == "No known allergies"
    assert status_code(body["clinicalStatus"]) == "active"
    assert "type" not in body


def test_allergy_entered_in_error_has_no_clinical_status(penicillin, nurse):
    services.entry_mark_error(marked_by=nurse, entry=penicillin, reason="Wrong patient")

    response = signed_in(nurse).get(f"/fhir/AllergyIntolerance/{penicillin.pk}")

    body = body_of(response, "AllergyIntolerance")
    assert codes(body["verificationStatus"]) == {(fhir_clinical.ALLERGY_VERIFICATION, "entered-in-error")}
    assert "clinicalStatus" not in body
    assert response["ETag"] == 'W/"2"' == f'W/"{body["meta"]["versionId"]}"'


def test_condition_reads_with_snomed_and_icd10_codes(asthma, nurse):
    response = signed_in(nurse).get(f"/fhir/Condition/{asthma.pk}")

    assert response.status_code == 200, response.content
    body = body_of(response, "Condition")
    assert body["meta"] == {"versionId": "1", "profile": [fhir_clinical.CONDITION_PROFILE]}
    assert response["ETag"] == 'W/"1"'
    assert codes(body["clinicalStatus"]) == {(fhir_clinical.CONDITION_CLINICAL, "active")}
    assert codes(body["verificationStatus"]) == {(fhir_clinical.CONDITION_VERIFICATION, "confirmed")}
    assert codes(body["category"][0]) == {(fhir_clinical.CONDITION_CATEGORY, "problem-list-item")}
    assert codes(body["code"]) == {(SNOMED, ASTHMA), (ICD10, "J45.9")}
    assert body["code"]["text"] == "Asthma"
    assert body["subject"] == {"reference": f"Patient/{asthma.patient_id}"}
    assert body["onsetDateTime"] == "2010-05-01"
    assert "abatementDateTime" not in body
    assert body["recorder"]["display"] == str(asthma.recorded_by)
    assert body["note"] == [{"text": "Childhood onset"}]


def test_resolved_condition_without_an_icd10_map(admitted, doctor, nurse):
    ConceptMap.objects.filter(snomed_code=COPD).delete()
    problem = services.problem_record(
        recorded_by=doctor,
        patient=admitted.patient,
        snomed_code=COPD,
        verification="provisional",
        onset_date=date(2024, 1, 2),
        resolved_date=date(2024, 3, 4),
    )

    body = body_of(signed_in(nurse).get(f"/fhir/Condition/{problem.pk}"), "Condition")

    assert codes(body["code"]) == {(SNOMED, COPD)}
    assert status_code(body["clinicalStatus"]) == "resolved"
    assert status_code(body["verificationStatus"]) == "provisional"
    assert (body["onsetDateTime"], body["abatementDateTime"]) == ("2024-01-02", "2024-03-04")


def test_condition_entered_in_error(asthma, doctor, nurse):
    services.entry_mark_error(marked_by=doctor, entry=asthma, reason="Wrong patient")

    body = body_of(signed_in(nurse).get(f"/fhir/Condition/{asthma.pk}"), "Condition")

    assert codes(body["verificationStatus"]) == {(fhir_clinical.CONDITION_VERIFICATION, "entered-in-error")}
    assert "clinicalStatus" not in body
    assert body["meta"]["versionId"] == "2"


def test_reads_are_audited(penicillin, asthma, nurse):
    client = signed_in(nurse)
    client.get(f"/fhir/AllergyIntolerance/{penicillin.pk}")
    client.get(f"/fhir/Condition/{asthma.pk}")

    events = AuditEvent.objects.filter(action=Action.VIEW, user_id=nurse.pk)
    assert {(e.object_type, e.object_id, e.patient_id, e.channel) for e in events} == {
        ("records.AllergyIntolerance", str(penicillin.pk), penicillin.patient_id, "api"),
        ("records.Problem", str(asthma.pk), asthma.patient_id, "api"),
    }


@pytest.mark.parametrize("url", ["AllergyIntolerance/987654", "AllergyIntolerance/abc", "Condition/987654"])
def test_unknown_entries_are_404(nurse, url):
    assert_outcome(signed_in(nurse).get(f"/fhir/{url}"), 404, "not-found")


# --- Access ---------------------------------------------------------------------------------------


def test_colleague_with_a_care_relationship_reads(penicillin, asthma, colleague):
    client = signed_in(colleague)

    assert client.get(f"/fhir/AllergyIntolerance/{penicillin.pk}").status_code == 200
    assert client.get(f"/fhir/Condition/{asthma.pk}").status_code == 200


@pytest.mark.parametrize("who", ["outsider", "clerk"])
def test_staff_without_clinical_access_are_refused_and_audited(penicillin, asthma, request, who):
    user = request.getfixturevalue(who)
    client = signed_in(user)
    patient = penicillin.patient_id

    assert_outcome(client.get(f"/fhir/AllergyIntolerance/{penicillin.pk}"), 403, "forbidden")
    assert_outcome(client.get(f"/fhir/Condition/{asthma.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/AllergyIntolerance", {"patient": patient}), 403, "forbidden")
    assert_outcome(client.get("/fhir/Condition", {"patient": patient}), 403, "forbidden")
    assert AuditEvent.objects.filter(user_id=user.pk, action=Action.DENIED).count() == 4


def test_outsider_cannot_record_and_nothing_changes(admitted, outsider):
    client = signed_in(outsider)
    patient_ref = f"Patient/{admitted.patient.pk}"

    assert_outcome(
        send(client, "/fhir/AllergyIntolerance", allergy_resource(patient_ref, snomed(PEANUT))),
        403,
        "forbidden",
    )
    assert_outcome(
        send(client, "/fhir/Condition", condition_resource(patient_ref, snomed(MI))), 403, "forbidden"
    )
    assert not AllergyIntolerance.objects.exists()
    assert not Problem.objects.exists()


def test_staff_whose_role_may_not_record_are_refused(admitted, colleague):
    # Bob is a healthcare assistant on the ward: he may read allergies and problems but not record them.
    client = signed_in(colleague)
    patient_ref = f"Patient/{admitted.patient.pk}"

    assert_outcome(
        send(client, "/fhir/AllergyIntolerance", allergy_resource(patient_ref, snomed(PEANUT))), 403
    )
    assert_outcome(send(client, "/fhir/Condition", condition_resource(patient_ref, snomed(MI))), 403)
    assert not AllergyIntolerance.objects.exists()
    assert not Problem.objects.exists()


def test_no_credentials_is_401(client, penicillin, asthma):
    response = client.get(f"/fhir/AllergyIntolerance/{penicillin.pk}")

    assert_outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_outcome(client.get(f"/fhir/Condition/{asthma.pk}"), 401)
    assert_outcome(client.get("/fhir/Condition", {"patient": asthma.patient_id}), 401)
    assert_outcome(
        send(client, "/fhir/AllergyIntolerance", allergy_resource("Patient/1", snomed(PEANUT))), 401
    )


@pytest.mark.parametrize(
    ("scopes", "allergies", "conditions"),
    [
        (["system/*.read"], 200, 200),
        (["system/AllergyIntolerance.read"], 200, 403),
        (["system/Condition.read"], 403, 200),
        (["system/Observation.read", "system/AllergyIntolerance.write"], 403, 403),
    ],
)
def test_system_clients_need_a_read_scope(client, penicillin, asthma, scopes, allergies, conditions):
    api = token_client(client, "Warehouse", scopes)

    assert api.get(f"/fhir/AllergyIntolerance/{penicillin.pk}").status_code == allergies
    assert api.get("/fhir/AllergyIntolerance").status_code == allergies
    assert api.get(f"/fhir/Condition/{asthma.pk}").status_code == conditions
    assert api.get("/fhir/Condition", {"code": ASTHMA}).status_code == conditions


def test_system_client_searches_across_patients_and_is_audited(client, penicillin, nurse):
    other = services.allergy_record(recorded_by=nurse, patient=PatientFactory(), substance_code=PENICILLIN)
    api = token_client(client, "Warehouse", ["system/AllergyIntolerance.read"])

    bundle = search(api, "AllergyIntolerance", code=PENICILLIN)

    assert set(found_ids(bundle)) == {penicillin.pk, other.pk}
    events = AuditEvent.objects.filter(api_client="Warehouse", action=Action.SEARCH)
    assert {(e.patient_id, e.user_id) for e in events} == {
        (penicillin.patient_id, None),
        (other.patient_id, None),
    }


def test_system_clients_cannot_record_without_a_named_recorder(client, patient):
    api = token_client(client, "Feed", ["system/*.write", "system/*.read"])

    response = send(
        api, "/fhir/AllergyIntolerance", allergy_resource(f"Patient/{patient.pk}", snomed(PEANUT))
    )

    assert_outcome(response, 403, "forbidden")
    assert not AllergyIntolerance.objects.exists()


# --- Create ---------------------------------------------------------------------------------------


def test_create_coded_allergy(admitted, nurse):
    resource = allergy_resource(
        f"Patient/{admitted.patient.pk}",
        snomed(PEANUT),
        type="allergy",
        category=["food"],
        criticality="high",
        clinicalStatus={"coding": [{"system": fhir_clinical.ALLERGY_CLINICAL, "code": "active"}]},
        verificationStatus={"coding": [{"system": fhir_clinical.ALLERGY_VERIFICATION, "code": "confirmed"}]},
        reaction=[{"manifestation": [{"text": "Anaphylaxis"}], "severity": "severe"}],
        note=[{"text": "Carries an adrenaline pen"}],
    )

    response = send(signed_in(nurse), "/fhir/AllergyIntolerance", resource)

    assert response.status_code == 201, response.content
    allergy = AllergyIntolerance.objects.get()
    body = body_of(response, "AllergyIntolerance")
    assert body["id"] == str(allergy.pk)
    assert response["Location"] == f"http://testserver/fhir/AllergyIntolerance/{allergy.pk}"
    assert response["ETag"] == 'W/"1"'
    assert (allergy.substance_code, allergy.substance_display, allergy.category) == (PEANUT, "Peanut", "food")
    assert (allergy.reaction, allergy.severity, allergy.criticality) == ("Anaphylaxis", "severe", "high")
    assert (allergy.verification, allergy.recorded_by, allergy.note) == (
        "confirmed",
        nurse,
        "Carries an adrenaline pen",
    )
    assert AuditEvent.objects.filter(
        action=Action.CREATE, object_id=str(allergy.pk), user_id=nurse.pk
    ).exists()


def test_create_free_text_intolerance(admitted, nurse):
    resource = allergy_resource(f"Patient/{admitted.patient.pk}", {"text": "Elastoplast"}, type="intolerance")

    response = send(signed_in(nurse), "/fhir/AllergyIntolerance", resource)

    assert response.status_code == 201, response.content
    allergy = AllergyIntolerance.objects.get()
    assert (allergy.substance_code, allergy.substance_text, allergy.kind) == (
        "",
        "Elastoplast",
        "intolerance",
    )
    assert body_of(response, "AllergyIntolerance")["code"] == {"text": "Elastoplast"}


def test_create_no_known_allergies(admitted, nurse):
    response = send(
        signed_in(nurse),
        "/fhir/AllergyIntolerance",
        allergy_resource(f"Patient/{admitted.patient.pk}", snomed("716186003")),
    )

    assert response.status_code == 201, response.content
    assert AllergyIntolerance.objects.get().kind == "nka"
    assert codes(body_of(response, "AllergyIntolerance")["code"]) == {(SNOMED, "716186003")}


def test_duplicate_allergy_is_422(penicillin, nurse):
    resource = allergy_resource(f"Patient/{penicillin.patient_id}", snomed(PENICILLIN))

    body = assert_outcome(send(signed_in(nurse), "/fhir/AllergyIntolerance", resource), 422, "business-rule")

    assert body["issue"][0]["expression"] == ["AllergyIntolerance.code"]
    assert AllergyIntolerance.objects.count() == 1


def test_no_known_allergies_beside_an_active_allergy_is_422(penicillin, nurse):
    resource = allergy_resource(f"Patient/{penicillin.patient_id}", snomed("716186003"))

    assert_outcome(send(signed_in(nurse), "/fhir/AllergyIntolerance", resource), 422, "business-rule")
    assert AllergyIntolerance.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "expression"),
    [
        ({"code": snomed("22298006999")}, 422, "AllergyIntolerance.code"),
        (
            {"code": {"coding": [{"system": "http://loinc.org", "code": "1234-5"}]}},
            422,
            "AllergyIntolerance.code",
        ),
        ({"code": None}, 400, "AllergyIntolerance.code"),
        ({"code": {"text": "x" * 300}}, 400, "AllergyIntolerance.code"),
        ({"patient": None}, 400, "patient"),
        ({"patient": {"reference": "Group/1"}}, 400, "AllergyIntolerance.patient"),
        ({"patient": {"display": "John Smith"}}, 400, "AllergyIntolerance.patient"),
        ({"category": ["plants"]}, 400, "AllergyIntolerance.category"),
        ({"category": ["food", "medication"]}, 422, "AllergyIntolerance.category"),
        ({"criticality": "extreme"}, 400, "AllergyIntolerance.criticality"),
        ({"type": "sensitivity"}, 400, "AllergyIntolerance.type"),
        (
            {"verificationStatus": {"coding": [{"code": "entered-in-error"}]}},
            422,
            "AllergyIntolerance.verificationStatus",
        ),
        (
            {"reaction": [{"manifestation": [{"text": "Rash"}], "severity": "awful"}]},
            400,
            "AllergyIntolerance.reaction[0].severity",
        ),
    ],
)
def test_allergies_this_server_cannot_record_are_refused(admitted, nurse, change, status, expression):
    resource = allergy_resource(f"Patient/{admitted.patient.pk}", snomed(PEANUT))
    resource = {k: v for k, v in {**resource, **change}.items() if v is not None}

    body = assert_outcome(send(signed_in(nurse), "/fhir/AllergyIntolerance", resource), status)

    assert body["issue"][0]["expression"] == [expression]
    assert not AllergyIntolerance.objects.exists()


@pytest.mark.parametrize("url", ["/fhir/AllergyIntolerance", "/fhir/Condition"])
def test_wrong_resource_type_and_malformed_json_are_400(doctor, url):
    client = signed_in(doctor)

    assert_outcome(send(client, url, {"resourceType": "Patient"}), 400, "invalid")
    assert_outcome(client.post(url, "{not json", content_type="application/fhir+json"), 400)
    assert_outcome(send(client, url, ["a list"]), 400)


def test_unknown_patient_is_404(doctor):
    response = send(signed_in(doctor), "/fhir/Condition", condition_resource("Patient/987654", snomed(MI)))

    assert_outcome(response, 404, "not-found")


def test_nothing_is_recorded_on_a_merged_record(admitted, nurse):
    survivor = PatientFactory()
    Patient.objects.filter(pk=admitted.patient.pk).update(status=PatientStatus.MERGED, merged_into=survivor)
    resource = allergy_resource(f"Patient/{admitted.patient.pk}", snomed(PEANUT))

    body = assert_outcome(send(signed_in(nurse), "/fhir/AllergyIntolerance", resource), 422, "business-rule")

    assert f"Patient/{survivor.pk}" in body["issue"][0]["diagnostics"]
    assert body["issue"][0]["expression"] == ["AllergyIntolerance.patient"]
    assert not AllergyIntolerance.objects.exists()


def test_create_condition_adds_the_icd10_code(admitted, doctor):
    resource = condition_resource(
        f"Patient/{admitted.patient.pk}",
        {"coding": [{"system": SNOMED, "code": MI, "display": "Heart attack"}]},
        category=[{"coding": [{"system": fhir_clinical.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        verificationStatus={
            "coding": [{"system": fhir_clinical.CONDITION_VERIFICATION, "code": "provisional"}]
        },
        onsetDateTime="2025-01-10T23:30:00+00:00",
        abatementDateTime="2025-02-01",
        note=[{"text": "Treated at the heart centre"}],
    )

    response = send(signed_in(doctor), "/fhir/Condition", resource)

    assert response.status_code == 201, response.content
    problem = Problem.objects.get()
    body = body_of(response, "Condition")
    assert response["Location"] == f"http://testserver/fhir/Condition/{problem.pk}"
    assert codes(body["code"]) == {(SNOMED, MI), (ICD10, "I21.9")}
    assert (problem.snomed_display, problem.icd10_code) == ("Myocardial infarction", "I21.9")
    assert (problem.onset_date, problem.resolved_date) == (date(2025, 1, 10), date(2025, 2, 1))
    assert (problem.clinical_status, problem.verification) == ("resolved", "provisional")
    assert problem.note == "Treated at the heart centre"
    assert body["onsetDateTime"] == "2025-01-10"
    assert AuditEvent.objects.filter(
        action=Action.CREATE, object_id=str(problem.pk), user_id=doctor.pk
    ).exists()


@pytest.mark.parametrize(
    ("change", "status", "expression"),
    [
        ({"code": snomed("22298006999")}, 422, "Condition.code"),
        ({"code": {"coding": [{"system": ICD10, "code": "I21.9"}]}}, 422, "Condition.code"),
        ({"code": {"text": "Heart attack"}}, 422, "Condition.code"),
        ({"code": None}, 400, "Condition.code"),
        ({"subject": None}, 400, "subject"),
        ({"subject": {"reference": "Practitioner/1"}}, 400, "Condition.subject"),
        ({"onsetDateTime": "2999-01-01"}, 422, "Condition.onsetDateTime"),
        (
            {"onsetDateTime": "2025-02-01", "abatementDateTime": "2025-01-01"},
            422,
            "Condition.abatementDateTime",
        ),
        ({"onsetString": "childhood"}, 422, "Condition.onsetString"),
        ({"category": [{"coding": [{"code": "encounter-diagnosis"}]}]}, 422, "Condition.category[0]"),
        ({"clinicalStatus": {"coding": [{"code": "remission"}]}}, 422, "Condition.clinicalStatus"),
        ({"verificationStatus": {"coding": [{"code": "refuted"}]}}, 422, "Condition.verificationStatus"),
    ],
)
def test_conditions_this_server_cannot_record_are_refused(admitted, doctor, change, status, expression):
    resource = condition_resource(f"Patient/{admitted.patient.pk}", snomed(MI))
    resource = {k: v for k, v in {**resource, **change}.items() if v is not None}

    body = assert_outcome(send(signed_in(doctor), "/fhir/Condition", resource), status)

    assert body["issue"][0]["expression"] == [expression]
    assert not Problem.objects.exists()


# --- Search ---------------------------------------------------------------------------------------


@pytest.fixture
def allergies(admitted, nurse) -> list[AllergyIntolerance]:
    """Penicillin (medicine, 1 March), peanut (food, 2 March, inactive) and latex (3 March)."""
    patient = admitted.patient
    rows = [
        services.allergy_record(
            recorded_by=nurse, patient=patient, substance_code=PENICILLIN, category="medication"
        ),
        services.allergy_record(
            recorded_by=nurse,
            patient=patient,
            substance_code=PEANUT,
            category="food",
            clinical_status="inactive",
        ),
        services.allergy_record(
            recorded_by=nurse, patient=patient, substance_code=LATEX, category="environment"
        ),
    ]
    for day, row in enumerate(rows, start=1):
        recorded_on(row, f"2025-03-0{day}T09:00:00+00:00")
    return rows


@pytest.fixture
def problems(admitted, doctor) -> list[Problem]:
    """Asthma (1 March, onset 2010), MI (2 March, onset 2024, resolved) and COPD (3 March, no onset)."""
    patient = admitted.patient
    rows = [
        services.problem_record(
            recorded_by=doctor, patient=patient, snomed_code=ASTHMA, onset_date=date(2010, 5, 1)
        ),
        services.problem_record(
            recorded_by=doctor,
            patient=patient,
            snomed_code=MI,
            onset_date=date(2024, 6, 1),
            resolved_date=date(2024, 7, 1),
        ),
        services.problem_record(recorded_by=doctor, patient=patient, snomed_code=COPD),
    ]
    for day, row in enumerate(rows, start=1):
        recorded_on(row, f"2025-03-0{day}T09:00:00+00:00")
    return rows


def test_allergy_search_by_patient_newest_first_and_audited(allergies, nurse):
    patient = allergies[0].patient_id
    services.allergy_record(recorded_by=nurse, patient=PatientFactory(), substance_code=PENICILLIN)

    bundle = search(signed_in(nurse), "AllergyIntolerance", patient=f"Patient/{patient}")

    assert bundle["total"] == 3
    assert found_ids(bundle) == [a.pk for a in reversed(allergies)]
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/AllergyIntolerance/{allergies[2].pk}"
    event = AuditEvent.objects.get(action=Action.SEARCH, user_id=nurse.pk)
    assert (event.patient_id, event.channel) == (patient, "api")
    assert event.detail == {"criteria": ["patient"], "allergies": [str(a.pk) for a in reversed(allergies)]}


def test_allergy_search_by_code_category_and_status(allergies, nurse):
    client = signed_in(nurse)
    patient = allergies[0].patient_id
    penicillin, peanut, latex = allergies

    def ids(**params: Any) -> list[int]:
        return found_ids(search(client, "AllergyIntolerance", patient=patient, **params))

    assert ids(code=f"{SNOMED}|{PEANUT}") == [peanut.pk]
    assert ids(code=f"{PENICILLIN},{LATEX}") == [latex.pk, penicillin.pk]
    assert ids(code=f"http://loinc.org|{PEANUT}") == []
    assert ids(category="food") == [peanut.pk]
    assert ids(category=f"{fhir_clinical.ALLERGY_CATEGORY}|medication,environment") == [
        latex.pk,
        penicillin.pk,
    ]
    assert ids(**{"clinical-status": "active"}) == [latex.pk, penicillin.pk]
    assert ids(**{"clinical-status": "inactive"}, category="food") == [peanut.pk]
    assert ids(category="food", code=PENICILLIN) == []


def test_allergy_search_for_no_known_allergies_and_entered_in_error(admitted, nurse):
    nka = services.allergy_record_none_known(recorded_by=nurse, patient=admitted.patient)
    client = signed_in(nurse)
    patient = admitted.patient.pk

    assert found_ids(search(client, "AllergyIntolerance", patient=patient, code="716186003")) == [nka.pk]
    services.entry_mark_error(marked_by=nurse, entry=nka, reason="Not asked")
    assert (
        found_ids(search(client, "AllergyIntolerance", patient=patient, **{"clinical-status": "active"}))
        == []
    )
    in_error = search(
        client, "AllergyIntolerance", patient=patient, **{"verification-status": "entered-in-error"}
    )
    assert found_ids(in_error) == [nka.pk]


def test_allergy_search_by_date_range_and_sort(allergies, nurse):
    client = signed_in(nurse)
    patient = allergies[0].patient_id
    penicillin, peanut, latex = allergies

    ranged = search(client, "AllergyIntolerance", patient=patient, date=["ge2025-03-02", "lt2025-03-03"])
    day = search(client, "AllergyIntolerance", patient=patient, date="2025-03-01")
    after = search(client, "AllergyIntolerance", patient=patient, date="gt2025-03-01T09:00:00Z")
    up_to = search(client, "AllergyIntolerance", patient=patient, date="le2025-03-02", _sort="date")
    oldest_first = search(client, "AllergyIntolerance", patient=patient, _sort="date")

    assert found_ids(ranged) == [peanut.pk]
    assert "date=ge2025-03-02&date=lt2025-03-03" in ranged["link"][0]["url"]
    assert found_ids(day) == [penicillin.pk]
    assert found_ids(after) == [latex.pk, peanut.pk]
    assert found_ids(up_to) == [penicillin.pk, peanut.pk]
    assert found_ids(oldest_first) == [a.pk for a in allergies]


def test_condition_search_by_snomed_and_icd10_codes(problems, nurse):
    client = signed_in(nurse)
    patient = problems[0].patient_id
    asthma, mi, copd = problems

    def ids(**params: Any) -> list[int]:
        return found_ids(search(client, "Condition", patient=patient, **params))

    assert ids() == [copd.pk, mi.pk, asthma.pk]
    assert ids(code=f"{ICD10}|J45.9") == [asthma.pk]
    assert ids(code="I21.9") == [mi.pk]
    assert ids(code=f"{SNOMED}|{COPD}") == [copd.pk]
    assert ids(code=f"{SNOMED}|J45.9") == []
    assert ids(code=f"{ICD10}|J45.9,{SNOMED}|{MI}") == [mi.pk, asthma.pk]
    assert ids(code=f"{ICD10}|") == [copd.pk, mi.pk, asthma.pk]
    Problem.objects.filter(pk=copd.pk).update(icd10_code="", icd10_display="")
    assert ids(code=f"{ICD10}|") == [mi.pk, asthma.pk]


def test_condition_search_by_category_status_and_dates(problems, nurse):
    client = signed_in(nurse)
    patient = problems[0].patient_id
    asthma, mi, copd = problems

    def ids(**params: Any) -> list[int]:
        return found_ids(search(client, "Condition", patient=patient, **params))

    assert ids(category="problem-list-item") == [copd.pk, mi.pk, asthma.pk]
    assert ids(category=f"{fhir_clinical.CONDITION_CATEGORY}|encounter-diagnosis") == []
    assert ids(**{"clinical-status": "resolved"}) == [mi.pk]
    assert ids(**{"clinical-status": "active"}, _sort="date") == [asthma.pk, copd.pk]
    assert ids(date="ge2025-03-02") == [copd.pk, mi.pk]
    assert ids(date=["ge2025-03-01", "le2025-03-02"], _sort="date") == [asthma.pk, mi.pk]
    assert ids(**{"recorded-date": "2025-03"}) == [copd.pk, mi.pk, asthma.pk]
    assert ids(**{"onset-date": "ge2020-01-01"}) == [mi.pk]
    assert ids(**{"onset-date": "2010-05"}) == [asthma.pk]
    assert ids(**{"onset-date": "lt2024-06-01"}) == [asthma.pk]


@pytest.mark.parametrize("resource_type", ["AllergyIntolerance", "Condition"])
def test_paging_follows_next_links(admitted, nurse, doctor, resource_type):
    start = timezone.now() - timedelta(days=30)
    for n, code in enumerate([PENICILLIN, PEANUT, LATEX, "387207008", "387458008"]):
        row = (
            services.allergy_record(recorded_by=nurse, patient=admitted.patient, substance_code=code)
            if resource_type == "AllergyIntolerance"
            else services.problem_record(recorded_by=doctor, patient=admitted.patient, snomed_code=ASTHMA)
        )
        type(row).objects.filter(pk=row.pk).update(recorded_at=start + timedelta(hours=n))
    client = signed_in(nurse)
    pages = [search(client, resource_type, patient=admitted.patient.pk, _count="2")]
    while next_link := {link["relation"]: link["url"] for link in pages[-1]["link"]}.get("next"):
        url = urlsplit(next_link)
        pages.append(body_of(client.get(f"{url.path}?{url.query}"), "Bundle"))

    everything = search(client, resource_type, patient=admitted.patient.pk)
    assert [len(found_ids(p)) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in found_ids(p)] == found_ids(everything)
    assert {p["total"] for p in pages} == {5}
    assert "previous" in {link["relation"] for link in pages[1]["link"]}
    assert "_offset=4" in pages[0]["link"][-1]["url"]  # last


def test_count_is_capped_at_200(allergies, nurse):
    bundle = search(signed_in(nurse), "AllergyIntolerance", patient=allergies[0].patient_id, _count="500")

    assert "_count=200" in bundle["link"][0]["url"]


@pytest.mark.parametrize("resource_type", ["AllergyIntolerance", "Condition"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"subject": "Patient/1"},
        {"patient": "Patient/x"},
        {"patient": "1", "date": "sa2025-01-01"},
        {"patient": "1", "date": "2025-13-01"},
        {"patient": "1", "_sort": "code"},
        {"patient": "1", "_count": "0"},
        {"patient": "1", "_offset": "-1"},
        {"patient": ["1", "2"]},
    ],
)
def test_bad_searches_are_400(nurse, resource_type, params):
    assert_outcome(signed_in(nurse).get(f"/fhir/{resource_type}", params), 400)


def test_onset_date_is_a_condition_parameter_only(nurse):
    assert_outcome(
        signed_in(nurse).get("/fhir/AllergyIntolerance", {"patient": "1", "onset-date": "2020"}), 400
    )


def test_search_for_an_unknown_patient_is_404(nurse):
    assert_outcome(signed_in(nurse).get("/fhir/Condition", {"patient": "987654321"}), 404, "not-found")


# --- Query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how_many", [3, 30])
@pytest.mark.parametrize("caller", ["staff", "system"])
def test_search_query_count_does_not_grow_with_the_entries(
    client, admitted, nurse, doctor, how_many, caller, django_assert_max_num_queries
):
    patient = admitted.patient
    AllergyIntolerance.objects.bulk_create(
        AllergyIntolerance(
            patient=patient, substance_text=f"Substance {n}", recorded_by=nurse, recorded_at=timezone.now()
        )
        for n in range(how_many)
    )
    Problem.objects.bulk_create(
        Problem(
            patient=patient,
            snomed_code=ASTHMA,
            snomed_display="Asthma",
            icd10_code="J45.9",
            icd10_display="Asthma, unspecified",
            recorded_by=doctor if n % 2 else nurse,
            recorded_at=timezone.now(),
        )
        for n in range(how_many)
    )
    api = signed_in(nurse) if caller == "staff" else token_client(client, "Feed", ["system/*.read"])

    for resource_type in ("AllergyIntolerance", "Condition"):
        # 3 of them open the request's transaction (a savepoint here), set its timeout, release it.
        with django_assert_max_num_queries(15):
            bundle = search(api, resource_type, patient=patient.pk)
        assert bundle["total"] == len(bundle["entry"]) == how_many
