"""The FHIR Medication, MedicationRequest and MedicationAdministration APIs (read and search only): every
response is checked with fhir.resources R4B, every call leaves its audit row, and a search page costs
the same number of queries however many rows there are."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from epr.audit.selectors import describe
from prescribing.fhir import medications as fhir
from prescribing.models import (
    AMP,
    VMP,
    Administration,
    AdministrationOutcome,
    DmdLookup,
    Ingredient,
    Prescription,
    PrescriptionKind,
    PrescriptionStatus,
    Setting,
    VMPIngredient,
)
from prescribing.rules.doses import WARD_TIME
from prescribing.services import administration as doses
from prescribing.services.prescriptions import prescription_replace
from prescribing.services.verification import prescription_review
from records import services as records
from tests.factories import PatientFactory, UserFactory
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of
from tests.records.support import send
from tests.support import assert_outcome, body_of, signed_in, token_client

pytestmark = pytest.mark.django_db

DMD, GTIN, UCUM = fhir.DMD, fhir.GTIN, fhir.UCUM
TYPES = ("Medication", "MedicationRequest", "MedicationAdministration")
PATIENT_TYPES = ("MedicationRequest", "MedicationAdministration")


# --- Helpers --------------------------------------------------------------------------------------


def search(client: Client, resource_type: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def found_ids(bundle: dict[str, Any]) -> list[int]:
    return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]


def read(client: Client, resource_type: str, pk: int) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}/{pk}")
    assert response.status_code == 200, response.content
    return body_of(response, resource_type)


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def due_today(hour: int) -> datetime:
    return datetime.combine(timezone.localdate(), time(hour), tzinfo=WARD_TIME)


def give(nurse: Any, prescription: Prescription, gtin: str, **kwargs: Any) -> Administration:
    due = kwargs.pop("due", due_today(8))
    return doses.administration_give(
        given_by=nurse,
        prescription=prescription,
        due_at=due,
        wristband=prescription.patient.nhs_number,
        pack=scan_of(gtin),
        now=due + timedelta(minutes=5),
        **kwargs,
    )


def not_given(nurse: Any, prescription: Prescription, **kwargs: Any) -> Administration:
    due = kwargs.pop("due", due_today(12))
    return doses.administration_not_given(
        recorded_by=nurse, prescription=prescription, due_at=due, now=due + timedelta(minutes=5), **kwargs
    )


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def all_pages(client: Client, resource_type: str, **params: Any) -> list[dict[str, Any]]:
    pages = [search(client, resource_type, **params)]
    while next_link := {link["relation"]: link["url"] for link in pages[-1]["link"]}.get("next"):
        pages.append(body_of(client.get(path_of(next_link)), "Bundle"))
    return pages


# --- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def testamol(db) -> VMP:
    """A tablet of 500 mg of one ingredient (a name no check knows, so prescribing raises nothing)."""
    vmp = product("Testamol 500mg tablets", "Testamol")
    VMP.objects.filter(pk=vmp.pk).update(form_name="Tablet", route_names=["Oral"])
    vmp.refresh_from_db()
    return vmp


@pytest.fixture
def gtin(testamol) -> str:
    return pack(testamol, 1)


@pytest.fixture
def regular(admitted, doctor, testamol) -> Prescription:
    return prescribe(
        doctor,
        admitted.patient,
        testamol,
        times_of_day=["08:00", "12:00"],
        notes_for_administration="Give with food",
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() + timedelta(days=5),
    )


@pytest.fixture
def verified(regular, pharmacist) -> Prescription:
    prescription_review(by=pharmacist, prescription=regular, action="verified")
    regular.refresh_from_db()
    return regular


@pytest.fixture
def given(verified, nurse, doctor, gtin) -> Administration:
    return give(nurse, verified, gtin, witness=doctor)


# --- CapabilityStatement --------------------------------------------------------------------------


def test_metadata_describes_the_three_read_only_resources(client):
    body = body_of(client.get("/fhir/metadata"), "CapabilityStatement")

    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    expected = {
        "Medication": {"code", "_count", "_offset"},
        "MedicationRequest": {"patient", "status", "intent", "category", "authoredon", "_count", "_offset"},
        "MedicationAdministration": {"patient", "status", "effective-time", "_count", "_offset"},
    }
    for name, params in expected.items():
        assert resources[name]["profile"] == f"https://fhir.hl7.org.uk/StructureDefinition/UKCore-{name}"
        assert [i["code"] for i in resources[name]["interaction"]] == ["read", "search-type"]
        assert params <= {p["name"] for p in resources[name]["searchParam"]}


@pytest.mark.parametrize("resource_type", TYPES)
def test_nothing_is_written_through_the_api(doctor, resource_type):
    client = signed_in(doctor)

    assert_outcome(send(client, f"/fhir/{resource_type}", {"resourceType": resource_type}), 405)
    assert_outcome(client.put(f"/fhir/{resource_type}/1", {}, content_type="application/fhir+json"), 405)


# --- Medication -----------------------------------------------------------------------------------


def test_medication_reads_with_its_dmd_code_pack_gtins_form_and_strength(testamol, gtin, clerk):
    body = read(signed_in(clerk), "Medication", testamol.pk)

    assert body["id"] == str(testamol.pk)
    assert body["meta"] == {"profile": [fhir.MEDICATION_PROFILE]}
    assert body["code"] == {
        "coding": [
            {"system": DMD, "code": testamol.dmd_id, "display": "Testamol 500mg tablets"},
            {"system": GTIN, "code": gtin, "display": "Testamol 500mg tablets (Test) 28"},
        ],
        "text": "Testamol 500mg tablets",
    }
    assert body["status"] == "active"
    assert body["form"] == {"text": "Tablet"}
    assert body["ingredient"] == [
        {
            "itemCodeableConcept": {"text": "Testamol"},
            "isActive": True,
            "strength": {
                "numerator": {"value": 500, "unit": "mg", "system": UCUM, "code": "mg"},
                "denominator": {"value": 1},
            },
        }
    ]


def test_medication_read_is_audited_with_no_patient(testamol, nurse):
    signed_in(nurse).get(f"/fhir/Medication/{testamol.pk}")

    event = AuditEvent.objects.get(action=Action.VIEW, user_id=nurse.pk)
    assert (event.patient_id, event.object_type, event.object_id, event.channel) == (
        None,
        "prescribing.VMP",
        str(testamol.pk),
        "api",
    )
    assert describe(event) == "FHIR Medication read"


def test_a_curated_medicine_is_never_labelled_as_dmd(db, nurse, settings):
    settings.EPR_ORGANISATION_ODS = "R1H"
    curated = VMP.objects.create(dmd_id="C000000000000042", name="Curated 10mg tablets", source="curated")
    client = signed_in(nurse)
    local = "https://fhir.r1h.nhs.uk/Id/local-medicine"

    body = read(client, "Medication", curated.pk)

    assert body["code"]["coding"] == [
        {"system": local, "code": "C000000000000042", "display": "Curated 10mg tablets"}
    ]
    assert DMD not in json.dumps(body)
    assert found_ids(search(client, "Medication", code=f"{local}|C000000000000042")) == [curated.pk]
    assert found_ids(search(client, "Medication", code="C000000000000042")) == [curated.pk]
    assert found_ids(search(client, "Medication", code=f"{DMD}|C000000000000042")) == []


def test_dmd_units_are_coded_in_snomed_and_named_from_dmds_list(db, nurse):
    DmdLookup.objects.create(kind="UNIT_OF_MEASURE", code="258684004", description="mg")
    DmdLookup.objects.create(kind="UNIT_OF_MEASURE", code="258773002", description="ml")
    vmp = VMP.objects.create(dmd_id="39720311000001101", name="Testamol 250mg/5ml oral suspension")
    VMPIngredient.objects.create(
        vmp=vmp,
        ingredient=Ingredient.objects.create(dmd_id="90332006", name="Testamol"),
        strength_value=Decimal("250.000000"),
        strength_units="258684004",
        per_value=Decimal("5.000000"),
        per_units="258773002",
    )

    body = read(signed_in(nurse), "Medication", vmp.pk)

    snomed = fhir.SNOMED
    assert body["ingredient"][0]["strength"] == {
        "numerator": {"value": 250, "unit": "mg", "system": snomed, "code": "258684004"},
        "denominator": {"value": 5, "unit": "ml", "system": snomed, "code": "258773002"},
    }
    assert "form" not in body


def test_an_invalid_product_reads_as_inactive(testamol, nurse):
    VMP.objects.filter(pk=testamol.pk).update(invalid=True)

    assert read(signed_in(nurse), "Medication", testamol.pk)["status"] == "inactive"


def test_medication_search_by_code(testamol, gtin, nurse):
    other = product("Examplin 10mg tablets", "Examplin")
    other_gtin = pack(other, 2)
    VMP.objects.filter(pk=testamol.pk).update(previous_dmd_id="812345678")
    apid = AMP.objects.get(vmp=testamol).dmd_id
    client = signed_in(nurse)

    def ids(*codes: str) -> list[int]:
        return found_ids(search(client, "Medication", code=list(codes)))

    assert ids(f"{DMD}|{testamol.dmd_id}") == [testamol.pk]
    assert ids(testamol.dmd_id) == [testamol.pk]
    assert ids(f"{DMD}|{apid}") == [testamol.pk]  # a brand finds the product it is a brand of
    assert ids(f"{DMD}|812345678") == [testamol.pk]  # the VPID before dm+d changed it
    assert ids(f"{GTIN}|{other_gtin}") == [other.pk]
    assert ids(other_gtin[1:]) == [other.pk]  # a 13-digit EAN is the GTIN without its leading zero
    assert ids(f"{GTIN}|{testamol.dmd_id}") == []
    assert ids(f"http://snomed.info/sct|{testamol.dmd_id}") == []
    assert ids(f"{testamol.dmd_id},{other.dmd_id}") == [other.pk, testamol.pk]  # by name
    assert ids(f"{testamol.dmd_id},{other.dmd_id}", gtin) == [testamol.pk]
    assert ids(f"{DMD}|") == []
    assert ids("999999999") == []


def test_medication_search_pages_and_is_audited_once_with_no_patient(db, nurse):
    made = [product(f"Product {n} 5mg tablets", f"Ingredient {n}") for n in range(5)]
    client = signed_in(nurse)

    pages = all_pages(client, "Medication", _count="2")

    assert [len(found_ids(p)) for p in pages] == [2, 2, 1]
    assert {p["total"] for p in pages} == {5}
    assert sorted(i for p in pages for i in found_ids(p)) == sorted(v.pk for v in made)
    assert "_offset=4" in pages[0]["link"][-1]["url"]  # last
    beyond = search(client, "Medication", _offset="5")
    assert (beyond["total"], beyond.get("entry")) == (5, None)
    assert "_count=200" in search(client, "Medication", _count="500")["link"][0]["url"]
    events = AuditEvent.objects.filter(action=Action.SEARCH, user_id=nurse.pk).order_by("id")
    assert [e.patient_id for e in events] == [None] * 5  # three pages and two more searches
    assert events[0].detail == {"criteria": [], "medications": [str(i) for i in found_ids(pages[0])]}
    assert describe(events[0]) == "FHIR Medication search"


@pytest.mark.parametrize(
    "params",
    [
        {"patient": "1"},
        {"name": "Testamol"},
        {"_sort": "date"},
        {"_count": "0"},
        {"_count": "x"},
        {"_offset": "-1"},
        {"_offset": ["0", "2"]},
    ],
)
def test_bad_medication_searches_are_400(nurse, params):
    assert_outcome(signed_in(nurse).get("/fhir/Medication", params), 400)


def test_any_signed_in_member_of_staff_reads_the_catalogue(testamol, users):
    for user in users.values():
        assert signed_in(user).get(f"/fhir/Medication/{testamol.pk}").status_code == 200, user.role


def test_no_credentials_is_401(client, testamol, regular):
    for url in (
        f"/fhir/Medication/{testamol.pk}",
        "/fhir/Medication",
        f"/fhir/MedicationRequest/{regular.pk}",
    ):
        response = client.get(url)
        assert_outcome(response, 401, "login")
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["system/*.read"], 200),
        (["system/Medication.read"], 200),
        (["system/MedicationRequest.read", "system/MedicationAdministration.read"], 403),
        (["system/Medication.write"], 403),
    ],
)
def test_system_clients_need_a_medication_read_scope(client, testamol, scopes, status):
    api = token_client(client, "Formulary", scopes)

    assert api.get(f"/fhir/Medication/{testamol.pk}").status_code == status
    assert api.get("/fhir/Medication", {"code": testamol.dmd_id}).status_code == status
    assert AuditEvent.objects.filter(api_client="Formulary", patient_id=None).count() == (
        2 if status == 200 else 0
    )


@pytest.mark.parametrize("url", ["Medication/987654", "Medication/abc", "MedicationRequest/987654"])
def test_unknown_resources_are_404(nurse, url):
    assert_outcome(signed_in(nurse).get(f"/fhir/{url}"), 404, "not-found")


def _catalogue(start: int, how_many: int) -> None:
    for n in range(start, start + how_many):
        vmp = product(f"Bulk {n} 5mg tablets", f"Bulk ingredient {n}", f"Bulk other {n}")
        pack(vmp, 1000 + n)


def _queries(client: Client, url: str, params: dict[str, Any]) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured), len(response.json()["entry"])


def test_medication_search_queries_do_not_grow_with_the_page(db, nurse):
    client = signed_in(nurse)
    _catalogue(0, 3)
    few = _queries(client, "/fhir/Medication", {})
    _catalogue(3, 27)
    many = _queries(client, "/fhir/Medication", {})

    assert (few[1], many[1]) == (3, 30)
    assert few[0] == many[0]


# --- MedicationRequest ----------------------------------------------------------------------------


def test_regular_prescription_reads_as_uk_core_medication_request(regular, testamol, nurse, doctor):
    client = signed_in(nurse)
    response = client.get(f"/fhir/MedicationRequest/{regular.pk}")

    assert response.status_code == 200, response.content
    body = body_of(response, "MedicationRequest")
    assert body["meta"] == {"versionId": "1", "profile": [fhir.REQUEST_PROFILE]}
    assert response["ETag"] == 'W/"1"'
    assert (body["status"], body["intent"]) == ("active", "order")
    assert body["category"] == [
        {"coding": [{"system": fhir.REQUEST_CATEGORY, "code": "inpatient", "display": "Inpatient"}]}
    ]
    assert body["medicationReference"] == {
        "reference": f"Medication/{testamol.pk}",
        "display": "Testamol 500mg tablets",
    }
    assert body["subject"] == {"reference": f"Patient/{regular.patient_id}"}
    assert datetime.fromisoformat(body["authoredOn"]) == regular.prescribed_at
    assert body["requester"] == {"type": "Practitioner", "display": str(doctor)}
    assert body["reasonCode"] == [{"text": "Pain"}]
    assert body["note"] == [
        {"text": "Give with food"},
        {"text": f"Review on {regular.review_on.isoformat()}"},
    ]
    assert body["dosageInstruction"] == [
        {
            "text": "1000 mg Oral at 08:00, 12:00",
            "timing": {"repeat": {"timeOfDay": ["08:00:00", "12:00:00"]}},
            "route": {"text": "Oral"},
            "doseAndRate": [{"doseQuantity": {"value": 1000, "unit": "mg", "system": UCUM, "code": "mg"}}],
        }
    ]
    period = body["dispenseRequest"]["validityPeriod"]
    assert datetime.fromisoformat(period["start"]) == regular.starts_at
    assert datetime.fromisoformat(period["end"]) == regular.ends_at
    assert {"substitution", "priorPrescription", "statusReason"}.isdisjoint(body)
    # The medicine it names is there to read.
    assert read(client, "Medication", testamol.pk)["id"] == str(testamol.pk)


def test_as_required_dosage(admitted, doctor, testamol, nurse):
    prn = prescribe(
        doctor,
        admitted.patient,
        testamol,
        kind=PrescriptionKind.AS_REQUIRED,
        times_of_day=[],
        min_interval_minutes=240,
        max_doses_in_24_hours=4,
    )

    dosage = read(signed_in(nurse), "MedicationRequest", prn.pk)["dosageInstruction"][0]

    assert (
        dosage["text"]
        == "1000 mg Oral when required for Pain, at least 4 hours apart, at most 4 doses in 24 hours"
    )
    assert dosage["asNeededCodeableConcept"] == {"text": "Pain"}
    assert "asNeededBoolean" not in dosage  # R4 takes one of the two; the indication says it
    assert dosage["timing"] == {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}
    assert dosage["maxDosePerPeriod"] == {
        "numerator": {"value": 4000, "unit": "mg", "system": UCUM, "code": "mg"},
        "denominator": {"value": 24, "unit": "hours", "system": UCUM, "code": "h"},
    }


def test_as_required_interval_in_minutes_and_maximum_alone(admitted, doctor, testamol, nurse):
    minutes = prescribe(
        doctor,
        admitted.patient,
        testamol,
        kind=PrescriptionKind.AS_REQUIRED,
        times_of_day=[],
        min_interval_minutes=90,
        dose_value=Decimal("0.5"),
        dose_unit="tablet",
    )
    Prescription.objects.filter(pk=minutes.pk).update(
        status=PrescriptionStatus.STOPPED, stopped_by=doctor, stopped_at=timezone.now()
    )
    most_only = prescribe(
        doctor,
        admitted.patient,
        testamol,
        kind=PrescriptionKind.AS_REQUIRED,
        times_of_day=[],
        max_doses_in_24_hours=2,
    )
    Prescription.objects.filter(pk=most_only.pk).update(indication="")  # as written before it was required
    client = signed_in(nurse)

    first = read(client, "MedicationRequest", minutes.pk)["dosageInstruction"][0]
    second = read(client, "MedicationRequest", most_only.pk)["dosageInstruction"][0]

    assert first["timing"] == {"repeat": {"frequency": 1, "period": 90, "periodUnit": "min"}}
    assert first["doseAndRate"] == [{"doseQuantity": {"value": 0.5, "unit": "tablet"}}]
    assert "maxDosePerPeriod" not in first
    assert second["asNeededBoolean"] is True
    assert "timing" not in second
    assert second["maxDosePerPeriod"]["numerator"] == {
        "value": 2000,
        "unit": "mg",
        "system": UCUM,
        "code": "mg",
    }
    assert second["text"] == "1000 mg Oral when required, at most 2 doses in 24 hours"


def test_once_only_dosage(admitted, doctor, testamol, nurse):
    when = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    stat = prescribe(
        doctor, admitted.patient, testamol, kind=PrescriptionKind.ONCE, times_of_day=[], starts_at=when
    )

    dosage = read(signed_in(nurse), "MedicationRequest", stat.pk)["dosageInstruction"][0]

    assert [datetime.fromisoformat(e) for e in dosage["timing"]["event"]] == [when]
    assert dosage["timing"]["repeat"] == {"count": 1}
    assert dosage["text"] == f"1000 mg Oral once only, at {timezone.localtime(when):%H:%M on %d-%b-%Y}"


@pytest.mark.parametrize(
    ("setting", "code"),
    [(Setting.INPATIENT, "inpatient"), (Setting.DISCHARGE, "discharge"), (Setting.OUTPATIENT, "outpatient")],
)
def test_every_setting_is_an_order_with_its_category(admitted, doctor, testamol, nurse, setting, code):
    prescription = prescribe(doctor, admitted.patient, testamol, setting=setting)

    body = read(signed_in(nurse), "MedicationRequest", prescription.pk)

    assert body["intent"] == "order"
    assert body["category"][0]["coding"][0]["code"] == code


def test_a_replaced_prescription_is_stopped_with_its_reason_and_named_by_the_next(
    regular, doctor, nurse, testamol
):
    nxt = prescription_replace(
        prescribed_by=doctor,
        prescription=regular,
        reason="Dose reduced",
        vmp=testamol,
        kind=PrescriptionKind.REGULAR,
        dose_value=Decimal("500"),
        dose_unit="mg",
        route="Oral",
        times_of_day=["08:00"],
    )
    client = signed_in(nurse)

    old = client.get(f"/fhir/MedicationRequest/{regular.pk}")
    new = read(client, "MedicationRequest", nxt.pk)

    assert old["ETag"] == 'W/"2"'
    assert body_of(old, "MedicationRequest")["status"] == "stopped"
    assert body_of(old, "MedicationRequest")["statusReason"] == {"text": "Dose reduced"}
    assert new["priorPrescription"] == {"reference": f"MedicationRequest/{regular.pk}"}
    assert new["dosageInstruction"][0]["text"] == "500 mg Oral at 08:00"


def test_prescribed_by_brand_says_the_brand_may_not_be_substituted(admitted, doctor, testamol, gtin, nurse):
    brand = AMP.objects.get(vmp=testamol)
    prescription = prescribe(doctor, admitted.patient, testamol, amp=brand)

    body = read(signed_in(nurse), "MedicationRequest", prescription.pk)

    assert body["medicationReference"]["reference"] == f"Medication/{testamol.pk}"
    assert body["substitution"] == {
        "allowedBoolean": False,
        "reason": {"text": "Prescribed by brand: Testamol 500mg tablets (Test)"},
    }


def test_entered_in_error(regular, nurse):
    Prescription.objects.filter(pk=regular.pk).update(status="entered-in-error", error_reason="Wrong patient")

    body = read(signed_in(nurse), "MedicationRequest", regular.pk)

    assert (body["status"], body["statusReason"]) == ("entered-in-error", {"text": "Wrong patient"})


@pytest.fixture
def three(admitted, doctor) -> list[Prescription]:
    """Three prescriptions of three products: 1 March (inpatient, active), 2 March (discharge,
    stopped), 3 March (outpatient, entered in error), each at 09:00 UTC."""
    patient = admitted.patient
    rows = [
        prescribe(doctor, patient, product(f"Medicine {n} 5mg tablets", f"Substance {n}"), setting=setting)
        for n, setting in enumerate([Setting.INPATIENT, Setting.DISCHARGE, Setting.OUTPATIENT])
    ]
    for day, row in enumerate(rows, start=1):
        Prescription.objects.filter(pk=row.pk).update(prescribed_at=at(f"2025-03-0{day}T09:00:00+00:00"))
    Prescription.objects.filter(pk=rows[1].pk).update(
        status=PrescriptionStatus.STOPPED, stopped_by=doctor, stopped_at=timezone.now(), stop_reason="Done"
    )
    Prescription.objects.filter(pk=rows[2].pk).update(status="entered-in-error")
    return rows


def test_prescription_search_by_patient_newest_first_and_audited(three, nurse, doctor, testamol):
    patient = three[0].patient_id
    prescribe(doctor, PatientFactory(), testamol)

    bundle = search(signed_in(nurse), "MedicationRequest", patient=f"Patient/{patient}")

    assert bundle["total"] == 3
    assert found_ids(bundle) == [p.pk for p in reversed(three)]
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/MedicationRequest/{three[2].pk}"
    event = AuditEvent.objects.get(action=Action.SEARCH, user_id=nurse.pk)
    assert (event.patient_id, event.channel) == (patient, "api")
    assert event.detail == {"criteria": ["patient"], "prescriptions": [str(p.pk) for p in reversed(three)]}
    assert describe(event) == "FHIR MedicationRequest search"


def test_prescription_search_by_status_intent_and_category(three, nurse):
    client = signed_in(nurse)
    patient = three[0].patient_id
    active, stopped, in_error = three

    def ids(**params: Any) -> list[int]:
        return found_ids(search(client, "MedicationRequest", patient=patient, **params))

    assert ids(status="active") == [active.pk]
    assert ids(status=f"{fhir.REQUEST_STATUS}|stopped") == [stopped.pk]
    assert ids(status="entered-in-error,active") == [in_error.pk, active.pk]
    assert ids(status="on-hold") == []
    assert ids(status=f"{fhir.ADMINISTRATION_STATUS}|active") == []
    assert ids(intent="order") == [in_error.pk, stopped.pk, active.pk]
    assert ids(intent=f"{fhir.REQUEST_INTENT}|order") == [in_error.pk, stopped.pk, active.pk]
    assert ids(intent="plan") == []
    assert ids(category="discharge") == [stopped.pk]
    assert ids(category=f"{fhir.REQUEST_CATEGORY}|inpatient,outpatient") == [in_error.pk, active.pk]
    assert ids(category="community") == []
    assert ids(category="discharge", status="active") == []


def test_prescription_search_by_authoredon_at_its_boundaries(three, nurse):
    client = signed_in(nurse)
    patient = three[0].patient_id
    first, second, third = three

    def ids(*dates: str, **params: Any) -> list[int]:
        return found_ids(
            search(client, "MedicationRequest", patient=patient, authoredon=list(dates), **params)
        )

    assert ids("2025-03-02") == [second.pk]
    assert ids("eq2025-03-02T09:00:00Z") == [second.pk]
    assert ids("ge2025-03-02T09:00:00Z") == [third.pk, second.pk]
    assert ids("gt2025-03-02T09:00:00Z") == [third.pk]
    assert ids("le2025-03-02T09:00:00Z") == [second.pk, first.pk]
    assert ids("lt2025-03-02T09:00:00Z") == [first.pk]
    assert ids("ge2025-03-01", "lt2025-03-03", _sort="date") == [first.pk, second.pk]
    assert ids("2025-03", _sort="date") == [first.pk, second.pk, third.pk]
    assert ids("lt2025-03-01T09:00:00Z") == []
    ranged = search(client, "MedicationRequest", patient=patient, authoredon=["ge2025-03-01", "lt2025-03-03"])
    assert "authoredon=ge2025-03-01&authoredon=lt2025-03-03" in ranged["link"][0]["url"]


@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"subject": "Patient/1"},
        {"patient": "Patient/x"},
        {"patient": ["1", "2"]},
        {"patient": "1", "code": "123"},
        {"patient": "1", "authoredon": "2025-13-01"},
        {"patient": "1", "effective-time": "sa2025-01-01"},
        {"patient": "1", "_sort": "status"},
        {"patient": "1", "_count": "0"},
        {"patient": "1", "_offset": "-1"},
    ],
)
def test_bad_searches_are_400(nurse, resource_type, params):
    assert_outcome(signed_in(nurse).get(f"/fhir/{resource_type}", params), 400)


@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
def test_staff_must_search_one_patient(nurse, resource_type):
    body = assert_outcome(signed_in(nurse).get(f"/fhir/{resource_type}"), 400, "required")

    assert "patient=Patient/<id>" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
def test_search_for_an_unknown_patient_is_404(nurse, resource_type):
    assert_outcome(signed_in(nurse).get(f"/fhir/{resource_type}", {"patient": "987654321"}), 404, "not-found")


def test_prescription_search_pages_follow_next_links(admitted, doctor, nurse):
    patient = admitted.patient
    for n in range(5):
        row = prescribe(doctor, patient, product(f"Paged {n} 5mg tablets", f"Paged {n}"))
        Prescription.objects.filter(pk=row.pk).update(
            prescribed_at=at("2025-03-01T09:00:00+00:00") + timedelta(hours=n)
        )
    client = signed_in(nurse)

    pages = all_pages(client, "MedicationRequest", patient=patient.pk, _count="2")

    everything = search(client, "MedicationRequest", patient=patient.pk)
    assert [len(found_ids(p)) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in found_ids(p)] == found_ids(everything)
    assert {p["total"] for p in pages} == {5}
    assert "previous" in {link["relation"] for link in pages[1]["link"]}
    beyond = search(client, "MedicationRequest", patient=patient.pk, _offset="5")
    assert (beyond["total"], beyond.get("entry")) == (5, None)
    assert (
        "_count=200"
        in search(client, "MedicationRequest", patient=patient.pk, _count="201")["link"][0]["url"]
    )


# --- MedicationAdministration ---------------------------------------------------------------------


def test_a_dose_given_reads_as_a_completed_administration(given, verified, testamol, nurse, doctor):
    body = read(signed_in(nurse), "MedicationAdministration", given.pk)

    assert body["meta"] == {"profile": [fhir.ADMINISTRATION_PROFILE]}
    assert body["status"] == "completed"
    assert "statusReason" not in body
    assert body["medicationReference"] == {"reference": f"Medication/{testamol.pk}", "display": testamol.name}
    assert body["subject"] == {"reference": f"Patient/{given.patient_id}"}
    assert datetime.fromisoformat(body["effectiveDateTime"]) == given.at
    assert body["request"] == {"reference": f"MedicationRequest/{verified.pk}"}
    function = fhir.PERFORMER_FUNCTION
    assert body["performer"] == [
        {
            "function": {"coding": [{"system": function, "code": "performer", "display": "Performer"}]},
            "actor": {"type": "Practitioner", "display": str(nurse)},
        },
        {
            "function": {"coding": [{"system": function, "code": "witness", "display": "Witness"}]},
            "actor": {"type": "Practitioner", "display": str(doctor)},
        },
    ]
    assert body["dosage"] == {
        "route": {"text": "Oral"},
        "dose": {"value": 1000, "unit": "mg", "system": UCUM, "code": "mg"},
    }
    assert body["note"] == [{"text": "Batch AB12, expiry 2030-12-31"}]


def test_a_dose_not_given_says_why(verified, nurse):
    refused = not_given(nurse, verified, reason="refused")
    other = not_given(nurse, verified, reason="other", text="Vomiting", due=due_today(8))
    client = signed_in(nurse)

    body = read(client, "MedicationAdministration", refused.pk)
    second = read(client, "MedicationAdministration", other.pk)

    assert body["status"] == "not-done"
    assert body["statusReason"] == [{"text": "Patient refused"}]
    assert "dosage" not in body
    assert "note" not in body
    assert len(body["performer"]) == 1
    assert second["statusReason"] == [{"text": "Other (say why)"}]
    assert second["note"] == [{"text": "Vomiting"}]


def test_a_dose_struck_through_is_entered_in_error(given, nurse):
    doses.administration_mark_error(marked_by=nurse, administration=given, reason="Wrong chart")

    assert read(signed_in(nurse), "MedicationAdministration", given.pk)["status"] == "entered-in-error"


@pytest.fixture
def four_doses(verified, nurse, gtin) -> list[Administration]:
    """Given (1 March), not given (2 March), given then struck through (3 March), given (4 March),
    each at 09:00 UTC."""
    rows = [
        give(nurse, verified, gtin, due=due_today(8)),
        not_given(nurse, verified, reason="nil-by-mouth", due=due_today(12)),
        give(nurse, verified, gtin, due=due_today(8) - timedelta(days=1)),
        give(nurse, verified, gtin, due=due_today(12) - timedelta(days=1)),
    ]
    doses.administration_mark_error(marked_by=nurse, administration=rows[2], reason="Wrong chart")
    for day, row in enumerate(rows, start=1):
        Administration.objects.filter(pk=row.pk).update(at=at(f"2025-03-0{day}T09:00:00+00:00"))
    return rows


def test_administration_search_by_status_and_effective_time(four_doses, nurse):
    client = signed_in(nurse)
    patient = four_doses[0].patient_id
    first, second, third, fourth = four_doses

    def ids(**params: Any) -> list[int]:
        return found_ids(search(client, "MedicationAdministration", patient=patient, **params))

    assert ids() == [fourth.pk, third.pk, second.pk, first.pk]
    assert ids(_sort="date") == [first.pk, second.pk, third.pk, fourth.pk]
    assert ids(status="completed") == [fourth.pk, first.pk]
    assert ids(status="not-done") == [second.pk]
    assert ids(status=f"{fhir.ADMINISTRATION_STATUS}|entered-in-error") == [third.pk]
    assert ids(status=f"{fhir.REQUEST_STATUS}|completed") == []
    assert ids(status="in-progress") == []
    assert ids(**{"effective-time": "2025-03-02"}) == [second.pk]
    assert ids(**{"effective-time": "ge2025-03-03T09:00:00Z"}) == [fourth.pk, third.pk]
    assert ids(**{"effective-time": "gt2025-03-03T09:00:00Z"}) == [fourth.pk]
    assert ids(**{"effective-time": "le2025-03-02T09:00:00Z"}) == [second.pk, first.pk]
    assert ids(**{"effective-time": "lt2025-03-02T09:00:00Z"}) == [first.pk]
    assert ids(**{"effective-time": ["ge2025-03-02", "lt2025-03-04"]}, status="completed") == []


def test_administration_search_is_audited(four_doses, nurse):
    patient = four_doses[0].patient_id

    bundle = search(signed_in(nurse), "MedicationAdministration", patient=patient, _count="2")

    event = AuditEvent.objects.get(action=Action.SEARCH, user_id=nurse.pk)
    assert event.patient_id == patient
    assert event.detail == {"criteria": ["patient"], "administrations": [str(i) for i in found_ids(bundle)]}
    assert describe(event) == "FHIR MedicationAdministration search"


# --- Access ---------------------------------------------------------------------------------------


@pytest.fixture
def urls(given, verified) -> dict[str, int]:
    return {"MedicationRequest": verified.pk, "MedicationAdministration": given.pk}


@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
@pytest.mark.parametrize("who", ["nurse", "doctor", "pharmacist"])
def test_staff_with_a_care_relationship_and_a_role_that_sees_medicines_read(
    urls, admitted, ward, request, resource_type, who
):
    user = request.getfixturevalue(who)
    if who == "pharmacist":  # the ward pharmacist, on the ward
        records.ward_add_staff(ward=ward, users=[user])
    client = signed_in(user)

    assert client.get(f"/fhir/{resource_type}/{urls[resource_type]}").status_code == 200
    assert search(client, resource_type, patient=admitted.patient_id)["total"] >= 1
    events = AuditEvent.objects.filter(user_id=user.pk, channel="api").order_by("id")
    assert [(e.action, e.patient_id) for e in events] == [
        (Action.VIEW, admitted.patient_id),
        (Action.SEARCH, admitted.patient_id),
    ]
    assert describe(events[0]) == f"FHIR {resource_type} read"


@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
def test_an_outsider_is_refused_as_records_refuses_and_audited(urls, admitted, outsider, resource_type):
    client = signed_in(outsider)

    read_refusal = assert_outcome(
        client.get(f"/fhir/{resource_type}/{urls[resource_type]}"), 403, "forbidden"
    )
    assert_outcome(client.get(f"/fhir/{resource_type}", {"patient": admitted.patient_id}), 403, "forbidden")

    assert "no care relationship" in read_refusal["issue"][0]["diagnostics"]
    denied = AuditEvent.objects.filter(user_id=outsider.pk, action=Action.DENIED)
    assert [e.patient_id for e in denied] == [admitted.patient_id] * 2
    assert not AuditEvent.objects.filter(user_id=outsider.pk).exclude(action=Action.DENIED).exists()


@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
def test_a_role_that_does_not_see_medicines_is_refused_and_audited(urls, admitted, colleague, resource_type):
    # Bob is a healthcare assistant on the ward: he opens the record, but the drug chart is not his.
    client = signed_in(colleague)

    body = assert_outcome(client.get(f"/fhir/{resource_type}/{urls[resource_type]}"), 403, "forbidden")
    assert_outcome(client.get(f"/fhir/{resource_type}", {"patient": admitted.patient_id}), 403, "forbidden")

    assert body["issue"][0]["diagnostics"] == "Your role does not see medicines."
    denied = AuditEvent.objects.filter(user_id=colleague.pk, action=Action.DENIED)
    assert [e.patient_id for e in denied] == [admitted.patient_id] * 2


@pytest.mark.parametrize(
    ("scopes", "requests", "administrations"),
    [
        (["system/*.read"], 200, 200),
        (["system/MedicationRequest.read"], 200, 403),
        (["system/MedicationAdministration.read"], 403, 200),
        (["system/Medication.read", "system/MedicationRequest.write"], 403, 403),
    ],
)
def test_system_clients_need_the_types_read_scope(client, urls, scopes, requests, administrations):
    api = token_client(client, "Warehouse", scopes)

    assert api.get(f"/fhir/MedicationRequest/{urls['MedicationRequest']}").status_code == requests
    assert api.get("/fhir/MedicationRequest").status_code == requests
    assert api.get(f"/fhir/MedicationAdministration/{urls['MedicationAdministration']}").status_code == (
        administrations
    )
    assert api.get("/fhir/MedicationAdministration").status_code == administrations


def test_a_system_client_searches_across_patients_audited_per_patient(client, regular, doctor, testamol):
    other = prescribe(doctor, PatientFactory(), testamol)
    api = token_client(client, "Warehouse", ["system/MedicationRequest.read"])

    bundle = search(api, "MedicationRequest", status="active")

    assert set(found_ids(bundle)) == {regular.pk, other.pk}
    events = AuditEvent.objects.filter(api_client="Warehouse", action=Action.SEARCH)
    assert {(e.patient_id, e.user_id, tuple(e.detail["prescriptions"])) for e in events} == {
        (regular.patient_id, None, (str(regular.pk),)),
        (other.patient_id, None, (str(other.pk),)),
    }


# --- Query counts ---------------------------------------------------------------------------------


def _chart(patient: Any, doctor: Any, nurse: Any, start: int, how_many: int) -> None:
    """Prescriptions of every kind and setting, some by brand or replacing another, each with a dose
    given (witnessed, by one of several nurses) and one not given."""
    vmp = product(f"Chart {start} 5mg tablets", f"Chart substance {start}")
    pack(vmp, 5000 + start)
    brand = AMP.objects.get(vmp=vmp)
    now = timezone.now()
    kinds = [PrescriptionKind.REGULAR, PrescriptionKind.AS_REQUIRED, PrescriptionKind.ONCE]
    rows = Prescription.objects.bulk_create(
        Prescription(
            patient=patient,
            vmp=vmp,
            amp=brand if n % 2 else None,
            kind=kinds[n % 3],
            setting=list(Setting)[n % 3],
            dose_value=Decimal("5"),
            dose_unit="mg",
            route="Oral",
            times_of_day=["08:00"] if n % 3 == 0 else [],
            min_interval_minutes=240 if n % 3 == 1 else None,
            max_doses_in_24_hours=4 if n % 3 == 1 else None,
            indication="Pain",
            starts_at=now,
            prescribed_by=doctor if n % 2 else UserFactory(role="doctor"),
            prescribed_at=now,
        )
        for n in range(start, start + how_many)
    )
    recorders = [nurse, UserFactory(), UserFactory()]
    Administration.objects.bulk_create(
        Administration(
            prescription=row,
            patient=patient,
            outcome=AdministrationOutcome.GIVEN if given else AdministrationOutcome.NOT_GIVEN,
            not_given_reason="" if given else "refused",
            at=now,
            dose_value=Decimal("5") if given else None,
            dose_unit="mg" if given else "",
            route="Oral" if given else "",
            batch="B1" if given else "",
            recorded_by=recorders[n % 3],
            recorded_at=now,
            witness=doctor if given else None,
        )
        for n, row in enumerate(rows)
        for given in (True, False)
    )


@pytest.mark.parametrize("caller", ["staff", "system"])
@pytest.mark.parametrize("resource_type", PATIENT_TYPES)
def test_search_queries_do_not_grow_with_the_prescriptions(
    client, admitted, doctor, nurse, caller, resource_type
):
    patient = admitted.patient
    api = signed_in(nurse) if caller == "staff" else token_client(client, "Feed", ["system/*.read"])
    params = {"patient": patient.pk, "_count": 100}
    _chart(patient, doctor, nurse, 0, 3)
    _queries(api, f"/fhir/{resource_type}", params)  # a bearer token is looked up once, then remembered
    few = _queries(api, f"/fhir/{resource_type}", params)
    _chart(patient, doctor, nurse, 3, 30)
    many = _queries(api, f"/fhir/{resource_type}", params)

    per_prescription = 2 if resource_type == "MedicationAdministration" else 1
    assert (few[1], many[1]) == (3 * per_prescription, 33 * per_prescription)
    assert few[0] == many[0]
