"""Helpers the records tests share: recording a set and raising its alert, answering an alert, an
escalation plan, the observations form as posted, FHIR posts and a new Patient resource."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from records import services
from records.fhir import patients as fhir
from tests.support import FHIR_JSON


def record(patient, user, values, **kwargs):
    obs = services.observation_set_record(recorded_by=user, patient=patient, **values, **kwargs)
    services.alert_raise_for_set(obs=obs)  # what the task does after commit
    return obs


def respond(alert, user, outcome="reviewed", **kwargs):
    return services.alert_acknowledge(
        alert=alert,
        user=user,
        informed=kwargs.pop("informed", "Dr Khan, medical registrar"),
        informed_at=kwargs.pop("informed_at", timezone.now() - timedelta(minutes=2)),
        outcome=outcome,
        **kwargs,
    )


def plan(patient, doctor, **kwargs):
    values = {
        "cpr_decision": "dnacpr",
        "escalation_level": "ward",
        "decided_by": "Dr Dee, consultant",
        "discussed_with": "The patient and her daughter",
    }
    return services.escalation_plan_record(recorded_by=doctor, patient=patient, **{**values, **kwargs})


OBSERVATION_FORM = {
    "respiration_rate": "16",
    "spo2": "97",
    "on_oxygen": "air",
    "systolic_bp": "125",
    "pulse": "72",
    "consciousness": "A",
    "temperature": "36.8",
}


def send(client: Client, url: str, body: Any):
    return client.post(url, json.dumps(body), content_type=FHIR_JSON)


NHS = fhir.NHS_NUMBER_SYSTEM


def new_patient_resource(**overrides: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Patient",
        "identifier": [
            {
                "extension": [
                    {
                        "url": fhir.VERIFICATION_STATUS_URL,
                        "valueCodeableConcept": {
                            "coding": [{"system": fhir.VERIFICATION_STATUS_SYSTEM, "code": "01"}]
                        },
                    }
                ],
                "system": NHS,
                "value": "9990001170",
            }
        ],
        "name": [{"use": "official", "family": "Nowak", "given": ["Zofia", "Anna"], "prefix": ["Mrs"]}],
        "gender": "female",
        "birthDate": "1956-03-14",
        "address": [
            {"use": "home", "line": ["1 High Street", "Flat 2"], "city": "Leeds", "postalCode": "ls1 4ap"}
        ],
        "telecom": [
            {"system": "phone", "value": "0113 496 0000"},
            {"system": "email", "value": "zofia@example.org"},
        ],
        "generalPractitioner": [
            {
                "type": "Organization",
                "identifier": {"system": fhir.ODS_SYSTEM, "value": "B86001"},
                "display": "Park Surgery",
            }
        ],
        "contact": [
            {
                "relationship": [{"coding": [fhir.NEXT_OF_KIN]}, {"text": "Daughter"}],
                "name": {"text": "Ewa Nowak"},
                "telecom": [{"system": "phone", "value": "07700 900123"}],
            }
        ],
        "communication": [{"language": {"text": "Polish"}, "preferred": True}],
        "extension": [{"url": fhir.INTERPRETER_REQUIRED_URL, "valueBoolean": True}],
    }
    resource.update(overrides)
    return resource
