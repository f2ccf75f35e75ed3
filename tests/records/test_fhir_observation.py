"""The FHIR Observation API for vital signs and NEWS2: every response is checked with fhir.resources R4B."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records import services
from records.fhir import observation_codes
from records.fhir import observations as obs_fhir
from records.models import AlertSeverity, ClinicalAlert, ObservationSet, Patient, PatientStatus
from tests.factories import PatientFactory
from tests.records.support import send
from tests.support import assert_outcome, body_of, login, signed_in, token_client

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
LOINC, SNOMED, UCUM = observation_codes.LOINC, observation_codes.SNOMED, observation_codes.UCUM
TAKEN = "2025-03-01T10:15:00+00:00"

# A whole set recorded on the form: NEWS2 7 (RR 22: 2, oxygen: 2, HR 115: 2, temperature 38.5: 1).
SCORES_SEVEN = {
    "respiration_rate": 22,
    "spo2": 97,
    "on_oxygen": True,
    "oxygen_flow": Decimal("2"),
    "oxygen_device": "nasal",
    "systolic_bp": 125,
    "diastolic_bp": 80,
    "pulse": 115,
    "consciousness": "A",
    "temperature": Decimal("38.5"),
    "weight": Decimal("72.5"),
    "height": Decimal("170"),
}


# --- Helpers --------------------------------------------------------------------------------------


def record_set(patient, user, *, taken_at: datetime | None = None, **values: Any) -> ObservationSet:
    return services.observation_set_record(
        recorded_by=user, patient=patient, taken_at=taken_at, **(values or SCORES_SEVEN)
    )


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


def search(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/fhir/Observation", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def found_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def quantity_resource(patient_ref: str, codings: list[tuple[str, str]], value: Any, unit: str, **extra: Any):
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": s, "code": c} for s, c in codings]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": TAKEN,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **extra,
    }


def bp_panel(patient_ref: str, systolic: int, diastolic: int) -> dict[str, Any]:
    def component(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": TAKEN,
        "component": [component("8480-6", systolic), component("8462-4", diastolic)],
    }


def acvpu_resource(patient_ref: str, code: str = "248234008") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": SNOMED, "code": "1104441000000107"}]},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": TAKEN,
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": code}]},
    }


def oxygen_resource(patient_ref: str, flow: Any = 2) -> dict[str, Any]:
    resource = quantity_resource(patient_ref, [(SNOMED, "371825009")], flow, "l/min")
    resource["device"] = {"display": "Nasal cannula"}
    return resource


def seven_point_set(patient_ref: str) -> list[dict[str, Any]]:
    """The SCORES_SEVEN vital signs as the seven Observations a device would post."""
    return [
        quantity_resource(patient_ref, [(LOINC, "9279-1")], 22, "/min"),
        quantity_resource(patient_ref, [(LOINC, "59408-5"), (LOINC, "2708-6")], 97, "%"),
        oxygen_resource(patient_ref),
        bp_panel(patient_ref, 125, 80),
        quantity_resource(patient_ref, [(LOINC, "8867-4")], 115, "/min"),
        acvpu_resource(patient_ref),
        quantity_resource(patient_ref, [(LOINC, "8310-5")], 38.5, "Cel"),
    ]


def transaction(*resources: dict[str, Any], patients: dict[str, dict[str, Any]] | None = None):
    entries = [
        {"fullUrl": url, "resource": p, "request": {"method": "POST", "url": "Patient"}}
        for url, p in (patients or {}).items()
    ]
    entries += [{"resource": r, "request": {"method": "POST", "url": "Observation"}} for r in resources]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.fixture
def full_set(admitted, colleague) -> ObservationSet:
    return record_set(admitted.patient, colleague, taken_at=timezone.now() - timedelta(hours=1))


# --- CapabilityStatement --------------------------------------------------------------------------


def test_metadata_describes_observation(client):
    body = body_of(client.get("/fhir/metadata"), "CapabilityStatement")

    observation = next(r for r in body["rest"][0]["resource"] if r["type"] == "Observation")
    assert {i["code"] for i in observation["interaction"]} == {"read", "create", "search-type"}
    assert {"patient", "code", "category", "date"} <= {p["name"] for p in observation["searchParam"]}


# --- Read -----------------------------------------------------------------------------------------

EXPECTED = {
    "rr": ("vital-signs", (LOINC, "9279-1"), "UKCore-Observation-RespirationRate", 22, "{Breaths}/min"),
    "spo2": ("vital-signs", (LOINC, "59408-5"), "UKCore-Observation-OxygenSaturation", 97, "%"),
    "o2": ("vital-signs", (SNOMED, "371825009"), "UKCore-Observation-InspiredOxygen", 2, "l/min"),
    "hr": ("vital-signs", (LOINC, "8867-4"), "UKCore-Observation-HeartRate", 115, "{beats}/min"),
    "temp": ("vital-signs", (LOINC, "8310-5"), "UKCore-Observation-BodyTemperature", 38.5, "Cel"),
    "weight": ("vital-signs", (LOINC, "29463-7"), "UKCore-Observation-BodyWeight", 72.5, "kg"),
    "height": ("vital-signs", (LOINC, "8302-2"), "UKCore-Observation-BodyHeight", 170, "cm"),
    "news2": (
        "survey",
        (SNOMED, "1104051000000101"),
        "UKCore-Observation-EarlyWarningTotalScore",
        7,
        "{ScoreOf}",
    ),
}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_quantity_parameter_reads_as_uk_core_observation(full_set, nurse, key):
    category, code, profile, value, unit = EXPECTED[key]

    response = signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-{key}", HTTP_ACCEPT=FHIR_JSON)

    assert response.status_code == 200, response.content
    body = body_of(response, "Observation")
    assert body["id"] == f"{full_set.pk}-{key}"
    assert body["meta"]["profile"] == [f"{obs_fhir.UK_CORE}{profile}"]
    assert body["status"] == "final"
    assert body["category"][0]["coding"][0]["code"] == category
    assert code in codes(body["code"])
    assert body["valueQuantity"] == {
        "value": value,
        "unit": body["valueQuantity"]["unit"],
        "system": UCUM,
        "code": unit,
    }
    assert body["subject"] == {"reference": f"Patient/{full_set.patient_id}"}
    assert datetime.fromisoformat(body["effectiveDateTime"]) == full_set.taken_at
    assert body["performer"] == [{"type": "Practitioner", "display": str(full_set.recorded_by)}]
    assert response["ETag"] == 'W/"1"' == f'W/"{body["meta"]["versionId"]}"'


def test_spo2_carries_both_loinc_codes_and_snomed(full_set, nurse):
    body = body_of(signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-spo2"), "Observation")

    assert codes(body["code"]) == {(LOINC, "59408-5"), (LOINC, "2708-6"), (SNOMED, "103228002")}


def test_blood_pressure_is_a_panel_with_systolic_and_diastolic(full_set, nurse):
    body = body_of(signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-bp"), "Observation")

    assert codes(body["code"]) == {(LOINC, "85354-9"), (SNOMED, "75367002")}
    systolic, diastolic = body["component"]
    assert (LOINC, "8480-6") in codes(systolic["code"])
    assert systolic["valueQuantity"]["value"] == 125
    assert systolic["valueQuantity"]["code"] == "mm[Hg]"
    assert (LOINC, "8462-4") in codes(diastolic["code"])
    assert diastolic["valueQuantity"]["value"] == 80
    assert "valueQuantity" not in body


def test_acvpu_is_a_survey_with_a_value_from_the_uk_core_value_set(full_set, nurse):
    body = body_of(signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-acvpu"), "Observation")

    assert body["meta"]["profile"] == [f"{obs_fhir.UK_CORE}UKCore-Observation-ACVPU"]
    assert body["category"][0]["coding"][0]["code"] == "survey"
    assert codes(body["code"]) == {(SNOMED, "1104441000000107")}
    assert codes(body["valueCodeableConcept"]) == {(SNOMED, "248234008")}


def test_oxygen_shows_flow_and_device_and_air_shows_room_air(admitted, colleague, nurse):
    on_oxygen = record_set(admitted.patient, colleague)
    on_air = record_set(
        admitted.patient, colleague, **{**SCORES_SEVEN, "on_oxygen": False, "oxygen_flow": None}
    )
    client = signed_in(nurse)

    oxygen = body_of(client.get(f"/fhir/Observation/{on_oxygen.pk}-o2"), "Observation")
    air = body_of(client.get(f"/fhir/Observation/{on_air.pk}-o2"), "Observation")

    assert codes(oxygen["code"]) == {(SNOMED, "371825009")}
    assert oxygen["device"] == {"display": "Nasal cannula"}
    assert codes(air["code"]) == {(SNOMED, "722742002")}
    assert "valueQuantity" not in air
    assert "device" not in air


def test_news2_total_is_derived_from_the_parameters_with_sub_scores(full_set, nurse):
    body = body_of(signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-news2"), "Observation")

    assert body["valueQuantity"]["value"] == 7
    assert {r["reference"] for r in body["derivedFrom"]} == {
        f"Observation/{full_set.pk}-{key}" for key in ("rr", "spo2", "o2", "bp", "hr", "acvpu", "temp")
    }
    sub_scores = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in body["component"]}
    assert sub_scores == {
        "1104301000000104": 2,  # respiration rate 22
        "1104311000000102": 0,  # SpO2 97 on scale 1
        "1104331000000105": 2,  # on oxygen
        "1104341000000101": 0,  # systolic 125
        "1104351000000103": 2,  # pulse 115
        "1104361000000100": 0,  # alert
        "1104371000000107": 1,  # temperature 38.5
    }
    assert body["interpretation"] == [{"text": "High clinical risk"}]


def test_news2_on_spo2_scale_2_uses_the_scale_2_sub_score_code(admitted, colleague, doctor, nurse):
    services.spo2_scale_set(set_by=doctor, patient=admitted.patient, scale=2, reason="Type 2 RF on ABG")
    obs = record_set(admitted.patient, colleague)

    body = body_of(signed_in(nurse).get(f"/fhir/Observation/{obs.pk}-news2"), "Observation")

    sub_scores = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in body["component"]}
    assert sub_scores["1104321000000108"] == 3  # 97% on oxygen scores 3 on scale 2
    assert "1104311000000102" not in sub_scores


def test_a_set_marked_in_error_shows_entered_in_error(full_set, nurse):
    services.observation_set_mark_error(marked_by=nurse, obs=full_set, reason="Wrong patient")

    response = signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-hr")

    assert body_of(response, "Observation")["status"] == "entered-in-error"
    assert response["ETag"] == 'W/"2"'


def test_read_is_audited_against_the_set(full_set, nurse):
    signed_in(nurse).get(f"/fhir/Observation/{full_set.pk}-temp")

    event = AuditEvent.objects.get(action=Action.VIEW, user_id=nurse.pk)
    assert (event.patient_id, event.object_id, event.channel) == (
        full_set.patient_id,
        str(full_set.pk),
        "api",
    )
    assert event.detail == {"observation": f"{full_set.pk}-temp"}


@pytest.mark.parametrize("suffix", ["pain", "99999999-hr", "news2", "x-hr"])
def test_unknown_observations_are_404(admitted, colleague, nurse, suffix):
    incomplete = record_set(admitted.patient, colleague, pulse=80)
    url = (
        f"/fhir/Observation/{incomplete.pk}-{suffix}"
        if suffix in ("pain", "news2")
        else f"/fhir/Observation/{suffix}"
    )

    assert_outcome(signed_in(nurse).get(url), 404, "not-found")


# --- Access ---------------------------------------------------------------------------------------


def test_colleague_on_the_ward_reads_through_the_care_relationship(full_set, colleague):
    assert signed_in(colleague).get(f"/fhir/Observation/{full_set.pk}-hr").status_code == 200


@pytest.mark.parametrize("who", ["outsider", "clerk"])
def test_staff_without_clinical_access_are_refused_and_the_refusal_is_audited(full_set, request, who):
    user = request.getfixturevalue(who)
    client = signed_in(user)

    assert_outcome(client.get(f"/fhir/Observation/{full_set.pk}-hr"), 403, "forbidden")
    assert_outcome(client.get("/fhir/Observation", {"patient": full_set.patient_id}), 403, "forbidden")
    assert AuditEvent.objects.filter(user_id=user.pk, action=Action.DENIED).count() == 2


def test_no_credentials_is_401(client, full_set):
    response = client.get(f"/fhir/Observation/{full_set.pk}-hr")

    assert_outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_outcome(client.get("/fhir/Observation", {"patient": full_set.patient_id}), 401)


# --- Search ---------------------------------------------------------------------------------------


@pytest.fixture
def three_sets(admitted, colleague) -> list[ObservationSet]:
    """Full sets on 1, 2 and 3 March (oldest first), and one incomplete set on 2 March."""
    sets = [
        record_set(
            admitted.patient, colleague, taken_at=datetime.fromisoformat(f"2025-03-0{day}T09:00:00+00:00")
        )
        for day in (1, 2, 3)
    ]
    record_set(
        admitted.patient, colleague, taken_at=datetime.fromisoformat("2025-03-02T15:00:00+00:00"), pulse=90
    )
    return sets


ALL_KEYS = ["rr", "spo2", "o2", "bp", "hr", "acvpu", "temp", "weight", "height", "news2"]


def test_search_by_patient_returns_every_observation_newest_first_and_is_audited(three_sets, nurse):
    patient_id = three_sets[0].patient_id
    PatientFactory()

    bundle = search(signed_in(nurse), patient=f"Patient/{patient_id}")

    first, second, third = three_sets
    pulse_only = ObservationSet.objects.get(pulse=90)
    assert bundle["total"] == 31
    assert found_ids(bundle) == [
        *[f"{third.pk}-{k}" for k in ALL_KEYS],
        f"{pulse_only.pk}-hr",
        *[f"{second.pk}-{k}" for k in ALL_KEYS],
        *[f"{first.pk}-{k}" for k in ALL_KEYS],
    ]
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/Observation/{third.pk}-rr"
    event = AuditEvent.objects.get(action=Action.SEARCH, user_id=nurse.pk)
    assert (event.patient_id, event.channel) == (patient_id, "api")
    assert event.detail["criteria"] == ["patient"]
    assert len(event.detail["observations"]) == 31


def test_search_by_loinc_and_snomed_codes(three_sets, nurse):
    client = signed_in(nurse)
    patient = three_sets[0].patient_id
    first, second, third = three_sets

    heart = search(client, patient=patient, code=f"{LOINC}|8867-4")
    score = search(client, patient=patient, code="1104051000000101")
    either = search(client, patient=patient, code=f"{SNOMED}|276885007,{LOINC}|9279-1")
    nothing = search(client, patient=patient, code=f"{SNOMED}|8867-4")

    assert heart["total"] == 4
    assert found_ids(score) == [f"{s.pk}-news2" for s in (third, second, first)]
    assert found_ids(either)[:2] == [f"{third.pk}-rr", f"{third.pk}-temp"]
    assert either["total"] == 6
    assert nothing["total"] == 0
    assert "entry" not in nothing


def test_search_by_oxygen_code_and_by_systolic_component(three_sets, nurse):
    client = signed_in(nurse)
    patient = three_sets[0].patient_id

    assert search(client, patient=patient, code="371825009")["total"] == 3
    assert search(client, patient=patient, code="722742002")["total"] == 0
    assert search(client, patient=patient, code=f"{LOINC}|8480-6")["total"] == 3


def test_search_by_category(three_sets, nurse):
    client = signed_in(nurse)
    patient = three_sets[0].patient_id

    survey = search(client, patient=patient, category="survey")
    vital = search(client, patient=patient, category=f"{observation_codes.CATEGORY_SYSTEM}|vital-signs")

    assert {i.split("-")[1] for i in found_ids(survey)} == {"acvpu", "news2"}
    assert survey["total"] == 6
    assert vital["total"] == 31 - 6
    assert search(client, patient=patient, category="survey", code="8867-4")["total"] == 0


def test_search_by_date_range(three_sets, nurse):
    client = signed_in(nurse)
    patient = three_sets[0].patient_id
    second = three_sets[1]

    bundle = search(client, patient=patient, date=["ge2025-03-02", "lt2025-03-03"], code="8867-4")
    instant = search(client, patient=patient, date="2025-03-02T09:00:00Z", code="8867-4")
    after = search(client, patient=patient, date="gt2025-03-02T15:00:00+00:00", code="8867-4")

    assert found_ids(bundle) == [f"{ObservationSet.objects.get(pulse=90).pk}-hr", f"{second.pk}-hr"]
    assert found_ids(instant) == [f"{second.pk}-hr"]
    assert found_ids(after) == [f"{three_sets[2].pk}-hr"]
    assert "date=ge2025-03-02&date=lt2025-03-03" in bundle["link"][0]["url"]


def test_sort_oldest_first(three_sets, nurse):
    bundle = search(signed_in(nurse), patient=three_sets[0].patient_id, code="1104051000000101", _sort="date")

    assert found_ids(bundle) == [f"{s.pk}-news2" for s in three_sets]


def test_paging_by_observation_follows_next_links_across_sets(three_sets, nurse):
    client = signed_in(nurse)
    pages = [search(client, patient=three_sets[0].patient_id, _count="7")]
    while next_link := {link["relation"]: link["url"] for link in pages[-1]["link"]}.get("next"):
        url = urlsplit(next_link)
        pages.append(body_of(client.get(f"{url.path}?{url.query}"), "Bundle"))

    everything = search(client, patient=three_sets[0].patient_id)
    assert [len(found_ids(p)) for p in pages] == [7, 7, 7, 7, 3]
    assert [i for p in pages for i in found_ids(p)] == found_ids(everything)
    assert {p["total"] for p in pages} == {31}
    assert "_offset=7" in pages[0]["link"][-2]["url"]  # next, before last
    assert "previous" in {link["relation"] for link in pages[1]["link"]}


def test_count_is_capped_at_200(three_sets, nurse):
    bundle = search(signed_in(nurse), patient=three_sets[0].patient_id, _count="500")

    assert "_count=200" in bundle["link"][0]["url"]


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
        {"patient": ["1", "2"]},
    ],
)
def test_bad_searches_are_400(nurse, params):
    assert_outcome(signed_in(nurse).get("/fhir/Observation", params), 400)


def test_search_for_an_unknown_patient_is_404(nurse):
    assert_outcome(signed_in(nurse).get("/fhir/Observation", {"patient": "987654321"}), 404, "not-found")


# --- Create, one Observation at a time -------------------------------------------------------------


def post_each(client: Client, resources: list[dict[str, Any]]) -> list:
    return [send(client, "/fhir/Observation", resource) for resource in resources]


def test_observations_with_one_time_build_one_set_and_news2_appears_when_complete(admitted, nurse):
    patient_ref = f"Patient/{admitted.patient.pk}"
    client = signed_in(nurse)
    *first_six, last = seven_point_set(patient_ref)

    responses = post_each(client, first_six)

    assert [r.status_code for r in responses] == [201] * 6
    obs = ObservationSet.objects.get()
    assert (obs.source, obs.news2_total, obs.recorded_by) == ("fhir", None, nurse)
    assert_outcome(client.get(f"/fhir/Observation/{obs.pk}-news2"), 404)

    response = send(client, "/fhir/Observation", last)

    assert response.status_code == 201, response.content
    body = body_of(response, "Observation")
    assert body["id"] == f"{obs.pk}-temp"
    assert response["Location"] == f"http://testserver/fhir/Observation/{obs.pk}-temp"
    assert response["ETag"] == 'W/"1"'  # its own first version, though the set has changed seven times
    news2 = body_of(client.get(f"/fhir/Observation/{obs.pk}-news2"), "Observation")
    assert news2["valueQuantity"]["value"] == 7
    assert len(news2["derivedFrom"]) == 7
    assert ObservationSet.objects.count() == 1
    obs.refresh_from_db()
    assert (obs.respiration_rate, obs.oxygen_flow, obs.oxygen_device) == (22, Decimal("2.0"), "nasal")
    assert (obs.systolic_bp, obs.diastolic_bp, obs.consciousness) == (125, 80, "A")
    assert obs.taken_at == datetime.fromisoformat(TAKEN)
    assert AuditEvent.objects.filter(object_id=str(obs.pk), action=Action.CREATE).count() == 1
    assert AuditEvent.objects.filter(object_id=str(obs.pk), action=Action.UPDATE).count() == 6


def test_completing_a_set_scoring_seven_raises_one_urgent_alert(
    admitted, colleague, ward, team, django_capture_on_commit_callbacks
):
    client = signed_in(colleague)
    resources = seven_point_set(f"Patient/{admitted.patient.pk}")

    with django_capture_on_commit_callbacks(execute=True):
        post_each(client, resources[:6])
    assert not ClinicalAlert.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        responses = post_each(client, [resources[6], resources[6]])  # a retry changes nothing

    assert [r.status_code for r in responses] == [201, 200]
    alert = ClinicalAlert.objects.get()
    assert alert.severity == AlertSeverity.URGENT
    assert alert.observation_set == ObservationSet.objects.get()
    assert set(alert.recipients.all()) == {ward.staff_group, team.staff_group}


def test_a_different_value_for_a_recorded_measurement_is_refused(admitted, nurse):
    client = signed_in(nurse)
    patient_ref = f"Patient/{admitted.patient.pk}"
    post_each(client, [quantity_resource(patient_ref, [(LOINC, "8867-4")], 115, "/min")])

    response = send(
        client, "/fhir/Observation", quantity_resource(patient_ref, [(SNOMED, "364075005")], 90, "/min")
    )

    body = assert_outcome(response, 422, "business-rule")
    assert body["issue"][0]["expression"] == ["Observation.valueQuantity"]
    assert ObservationSet.objects.get().pulse == 115


def test_form_sets_are_never_extended_by_fhir_posts(admitted, nurse, colleague):
    record_set(admitted.patient, colleague, taken_at=datetime.fromisoformat(TAKEN), pulse=80)

    response = send(signed_in(nurse), "/fhir/Observation", acvpu_resource(f"Patient/{admitted.patient.pk}"))

    assert response.status_code == 201
    assert sorted(ObservationSet.objects.values_list("source", flat=True)) == ["fhir", "form"]


@pytest.mark.parametrize(
    ("resource", "expression"),
    [
        (lambda p: quantity_resource(p, [(LOINC, "59408-5")], 101, "%"), "Observation.valueQuantity"),
        (lambda p: quantity_resource(p, [(LOINC, "8310-5")], 60, "Cel"), "Observation.valueQuantity"),
        (lambda p: bp_panel(p, 80, 120), "Observation.component[1].valueQuantity"),
        (
            lambda p: quantity_resource(p, [(SNOMED, "722742002")], 2, "l/min"),
            "Observation.valueQuantity",
        ),
        (
            lambda p: {
                **quantity_resource(p, [(LOINC, "8867-4")], 80, "/min"),
                "effectiveDateTime": "2999-01-01T00:00:00Z",
            },
            "Observation.effectiveDateTime",
        ),
    ],
)
def test_implausible_values_are_422_and_save_nothing(admitted, nurse, resource, expression):
    response = send(signed_in(nurse), "/fhir/Observation", resource(f"Patient/{admitted.patient.pk}"))

    body = assert_outcome(response, 422)
    assert body["issue"][0]["expression"] == [expression]
    assert not ObservationSet.objects.exists()


def test_an_implausible_value_for_an_existing_set_leaves_it_unchanged(admitted, nurse):
    client = signed_in(nurse)
    patient_ref = f"Patient/{admitted.patient.pk}"
    post_each(client, [quantity_resource(patient_ref, [(LOINC, "8867-4")], 80, "/min")])

    response = send(
        client, "/fhir/Observation", quantity_resource(patient_ref, [(LOINC, "8310-5")], 60, "Cel")
    )

    assert_outcome(response, 422, "value")
    obs = ObservationSet.objects.get()
    assert obs.temperature is None
    assert obs.history.count() == 1


@pytest.mark.parametrize(
    ("change", "status", "expression"),
    [
        ({"code": {"coding": [{"system": SNOMED, "code": "1104051000000101"}]}}, 422, "Observation.code"),
        ({"code": {"coding": [{"system": LOINC, "code": "88330-6"}]}}, 422, "Observation.code"),
        ({"code": {"coding": [{"system": LOINC, "code": "2339-0"}]}}, 422, "Observation.code"),
        ({"status": "preliminary"}, 422, "Observation.status"),
        ({"effectiveDateTime": "2025-03-01"}, 400, "Observation.effectiveDateTime"),
        ({"effectiveDateTime": None}, 400, "Observation.effectiveDateTime"),
        (
            {"valueQuantity": {"value": 80, "system": UCUM, "code": "[degF]"}},
            400,
            "Observation.valueQuantity.code",
        ),
        (
            {"valueQuantity": {"value": 80.5, "system": UCUM, "code": "/min"}},
            400,
            "Observation.valueQuantity",
        ),
        ({"valueQuantity": None}, 400, "Observation.valueQuantity"),
        ({"subject": {"reference": "Group/1"}}, 400, "Observation.subject"),
        ({"subject": None}, 400, "Observation.subject"),
    ],
)
def test_observations_this_server_cannot_record_are_refused(admitted, nurse, change, status, expression):
    resource = quantity_resource(f"Patient/{admitted.patient.pk}", [(LOINC, "8867-4")], 80, "/min")
    resource = {k: v for k, v in {**resource, **change}.items() if v is not None}

    body = assert_outcome(send(signed_in(nurse), "/fhir/Observation", resource), status)

    assert body["issue"][0]["expression"] == [expression]
    assert not ObservationSet.objects.exists()


def test_a_set_cannot_start_with_air_alone(admitted, nurse):
    client = signed_in(nurse)
    patient_ref = f"Patient/{admitted.patient.pk}"
    air = quantity_resource(patient_ref, [(SNOMED, "722742002")], None, "l/min")
    del air["valueQuantity"]

    assert_outcome(send(client, "/fhir/Observation", air), 422, "business-rule")
    post_each(client, [quantity_resource(patient_ref, [(LOINC, "8867-4")], 80, "/min")])
    assert send(client, "/fhir/Observation", air).status_code == 201
    assert ObservationSet.objects.get().on_oxygen is False


def test_standalone_systolic_and_diastolic_fill_one_blood_pressure(admitted, nurse):
    client = signed_in(nurse)
    patient_ref = f"Patient/{admitted.patient.pk}"

    post_each(
        client,
        [
            quantity_resource(patient_ref, [(LOINC, "8480-6")], 118, "mm[Hg]"),
            quantity_resource(patient_ref, [(LOINC, "8462-4")], 76, "mm[Hg]"),
        ],
    )

    obs = ObservationSet.objects.get()
    assert (obs.systolic_bp, obs.diastolic_bp) == (118, 76)
    bp = body_of(client.get(f"/fhir/Observation/{obs.pk}-bp"), "Observation")
    assert [c["valueQuantity"]["value"] for c in bp["component"]] == [118, 76]


@pytest.mark.parametrize("who", ["outsider", "clerk"])
def test_staff_who_may_not_record_for_the_patient_are_refused(admitted, request, who):
    resource = quantity_resource(f"Patient/{admitted.patient.pk}", [(LOINC, "8867-4")], 80, "/min")

    assert_outcome(
        send(signed_in(request.getfixturevalue(who)), "/fhir/Observation", resource), 403, "forbidden"
    )
    assert not ObservationSet.objects.exists()


def test_observations_are_not_recorded_on_a_merged_record(client, patient):
    survivor = PatientFactory()
    Patient.objects.filter(pk=patient.pk).update(status=PatientStatus.MERGED, merged_into=survivor)
    feed = token_client(client, "Obs device", ["system/Observation.write"])
    resource = quantity_resource(f"Patient/{patient.pk}", [(LOINC, "8867-4")], 80, "/min")

    body = assert_outcome(send(feed, "/fhir/Observation", resource), 422, "business-rule")

    assert f"Patient/{survivor.pk}" in body["issue"][0]["diagnostics"]
    assert not ObservationSet.objects.exists()


# --- Transaction Bundles --------------------------------------------------------------------------


def test_transaction_records_a_whole_set_and_raises_the_alert(
    admitted, nurse, django_capture_on_commit_callbacks
):
    bundle = transaction(*seven_point_set(f"Patient/{admitted.patient.pk}"))

    with django_capture_on_commit_callbacks(execute=True):
        response = send(signed_in(nurse), "/fhir/", bundle)

    assert response.status_code == 200, response.content
    body = body_of(response, "Bundle")
    obs = ObservationSet.objects.get()
    assert body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 7
    assert [e["response"]["location"] for e in body["entry"]] == [
        f"Observation/{obs.pk}-{key}" for key in ("rr", "spo2", "o2", "bp", "hr", "acvpu", "temp")
    ]
    assert obs.news2_total == 7
    assert ClinicalAlert.objects.get().severity == AlertSeverity.URGENT
    # One set recorded in one go: created once, never updated.
    assert obs.history.count() == 1


def test_a_transaction_with_one_bad_entry_saves_nothing(admitted, nurse, django_capture_on_commit_callbacks):
    resources = seven_point_set(f"Patient/{admitted.patient.pk}")
    resources[1] = quantity_resource(f"Patient/{admitted.patient.pk}", [(LOINC, "59408-5")], 101, "%")

    with django_capture_on_commit_callbacks(execute=True):
        response = send(signed_in(nurse), "/fhir/", transaction(*resources))

    body = assert_outcome(response, 422)
    assert body["issue"][0]["expression"] == ["Bundle.entry[1].resource.valueQuantity"]
    assert not ObservationSet.objects.exists()
    assert not ClinicalAlert.objects.exists()


def test_a_transaction_with_two_values_for_one_measurement_saves_nothing(admitted, nurse):
    patient_ref = f"Patient/{admitted.patient.pk}"
    bundle = transaction(
        quantity_resource(patient_ref, [(LOINC, "8867-4")], 80, "/min"),
        quantity_resource(patient_ref, [(LOINC, "8867-4")], 81, "/min"),
    )

    body = assert_outcome(send(signed_in(nurse), "/fhir/", bundle), 422, "business-rule")

    assert body["issue"][0]["expression"][0] == "Bundle.entry[1].resource.valueQuantity"
    assert not ObservationSet.objects.exists()


def test_a_subject_that_is_not_in_the_bundle_is_refused(nurse):
    bundle = transaction(
        quantity_resource("urn:uuid:0d3c1a52-0000-4000-8000-000000000000", [(LOINC, "8867-4")], 80, "/min")
    )

    body = assert_outcome(send(signed_in(nurse), "/fhir/", bundle), 400)

    assert body["issue"][0]["expression"] == ["Bundle.entry[0].resource.subject"]


@pytest.mark.parametrize(
    "bundle",
    [
        {"resourceType": "Bundle", "type": "batch", "entry": []},
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "POST", "url": "Observation"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": {"resourceType": "Patient"}, "request": {"method": "PUT", "url": "Patient/1"}}
            ],
        },
        {"resourceType": "Observation", "status": "final", "code": {"text": "pulse"}},
    ],
)
def test_unsupported_bundles_are_400(nurse, bundle):
    assert_outcome(send(signed_in(nurse), "/fhir/", bundle), 400)


# --- System clients -------------------------------------------------------------------------------


def new_patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990001170"}],
        "name": [{"use": "official", "family": "Nowak", "given": ["Zofia"]}],
        "gender": "female",
        "birthDate": "1956-03-14",
    }


def test_system_client_registers_a_patient_and_their_set_in_one_transaction(
    client, django_capture_on_commit_callbacks
):
    feed = token_client(client, "Obs device", ["system/Patient.write", "system/Observation.write"])
    bundle = transaction(
        *seven_point_set("urn:uuid:3f0c6d4e-0c1a-4d8e-9d1c-1f2e3a4b5c6d"),
        patients={"urn:uuid:3f0c6d4e-0c1a-4d8e-9d1c-1f2e3a4b5c6d": new_patient()},
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = send(feed, "/fhir/", bundle)

    assert response.status_code == 200, response.content
    body = body_of(response, "Bundle")
    patient = Patient.objects.get(nhs_number="9990001170")
    obs = ObservationSet.objects.get()
    assert body["entry"][0]["response"]["location"] == f"Patient/{patient.pk}"
    assert (obs.patient, obs.recorded_by, obs.news2_total) == (patient, None, 7)
    assert ClinicalAlert.objects.filter(patient=patient).count() == 1
    assert set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("api_client", flat=True)) >= {
        "Obs device"
    }


def test_system_client_reads_and_searches_across_patients_with_a_read_scope(client, full_set):
    reader = token_client(client, "Warehouse", ["system/Observation.read"])
    other = record_set(PatientFactory(), None, pulse=70)

    bundle = search(reader, code="8867-4")
    read = reader.get(f"/fhir/Observation/{full_set.pk}-news2")

    assert set(found_ids(bundle)) == {f"{full_set.pk}-hr", f"{other.pk}-hr"}
    assert body_of(read, "Observation")["valueQuantity"]["value"] == 7
    events = AuditEvent.objects.filter(api_client="Warehouse")
    assert {(e.action, e.patient_id) for e in events} >= {
        (Action.SEARCH, full_set.patient_id),
        (Action.SEARCH, other.patient_id),
        (Action.VIEW, full_set.patient_id),
    }
    assert {e.user_id for e in events} == {None}


def test_read_only_client_cannot_record(client, patient):
    reader = token_client(client, "Warehouse", ["system/*.read"])
    resource = quantity_resource(f"Patient/{patient.pk}", [(LOINC, "8867-4")], 80, "/min")

    assert_outcome(send(reader, "/fhir/Observation", resource), 403, "forbidden")
    assert_outcome(send(reader, "/fhir/", transaction(resource)), 403, "forbidden")
    assert not ObservationSet.objects.exists()


def test_observation_writer_cannot_register_patients_in_a_transaction(client):
    feed = token_client(client, "Obs device", ["system/Observation.write"])
    bundle = transaction(*seven_point_set("urn:uuid:1"), patients={"urn:uuid:1": new_patient()})

    assert_outcome(send(feed, "/fhir/", bundle), 403, "forbidden")
    assert not Patient.objects.exists()


def test_system_client_records_without_a_care_relationship(client, patient):
    feed = token_client(client, "Obs device", ["system/*.write"])

    response = send(
        feed,
        "/fhir/Observation/",
        quantity_resource(f"Patient/{patient.pk}", [(LOINC, "8867-4")], 80, "/min"),
    )

    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action=Action.CREATE, patient_id=patient.pk)
    assert (event.user_id, event.api_client) == (None, "Obs device")


# --- Query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how_many", [5, 60])
@pytest.mark.parametrize("caller", ["staff", "system"])
def test_search_query_count_does_not_grow_with_the_sets(
    client, admitted, colleague, nurse, how_many, caller, django_assert_max_num_queries
):
    start = timezone.now() - timedelta(days=30)
    for n in range(how_many):
        record_set(admitted.patient, colleague, taken_at=start + timedelta(hours=n))
    api = signed_in(nurse) if caller == "staff" else token_client(client, "Feed", ["system/*.read"])

    # 3 of them open the request's transaction (a savepoint here), set its statement timeout, release it.
    with django_assert_max_num_queries(15):
        bundle = search(api, patient=admitted.patient.pk, _count="200")

    assert bundle["total"] == how_many * 10
    assert len(bundle["entry"]) == min(how_many * 10, 200)


def test_transaction_bundle_posted_to_the_base_without_a_slash_is_not_redirected(client, nurse, admitted):

    login(client, nurse)
    response = client.post("/fhir", data="{}", content_type="application/fhir+json")
    assert response.status_code == 400  # reached the transaction endpoint: an OperationOutcome, not a 301
    assert response.json()["resourceType"] == "OperationOutcome"
