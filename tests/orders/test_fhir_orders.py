"""The FHIR API for orders: ServiceRequest (read and search) and Specimen (read) from the orders placed
in the EPR, DiagnosticReport's basedOn and based-on, and DiagnosticReport create by a laboratory system
(single, and in a transaction Bundle), filed as HL7 v2 results are. Every response is checked with
fhir.resources R4B (the test settings validate each one as it is sent, and body_of again)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from epr.audit.selectors import describe
from epr.fhir.resources import instant
from orders.fhir import requests as fhir
from orders.fhir.reports import IDENTIFIER_TYPE, LOINC, SNOMED
from orders.fhir.reports_in import NHS_NUMBER_SYSTEM
from orders.models import Filing, InboundMessage, Order, OrderableTest, OrderStatus, ResultReport
from orders.samples import oru_for
from orders.services.catalogue import catalogue_load
from orders.services.requests import order_cancel, orders_place, specimen_collect, warnings_for
from orders.services.results import results_receive, unmatched_reject
from tests.factories import PatientFactory
from tests.support import FHIR_JSON, assert_outcome, body_of, signed_in, third_party_testdata, token_client

pytestmark = pytest.mark.django_db

UKCORE = "ukcore/json_derived"
WRITE = ["system/DiagnosticReport.write", "system/DiagnosticReport.read"]


# --- Fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def catalogue(db) -> None:
    catalogue_load()


@pytest.fixture
def requester(doctor):
    doctor.grade = "core"
    doctor.save(update_fields=["grade"])
    return doctor


def place(requester: Any, patient: Any, *codes: str, **kwargs: Any) -> list[Order]:
    tests = [OrderableTest.objects.get(code=code) for code in codes]
    return orders_place(requested_by=requester, patient=patient, tests=tests, **kwargs)


@pytest.fixture
def fbc(catalogue, requester, admitted) -> Order:
    (order,) = place(
        requester,
        admitted.patient,
        "FBC",
        priority="urgent",
        clinical_details="Fever after surgery",
        notes="Bleep 2345 with the result",
    )
    return order


def read(client: Client, resource_type: str, pk: int) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}/{pk}")
    assert response.status_code == 200, response.content
    return body_of(response, resource_type)


def search(client: Client, resource_type: str = "ServiceRequest", **params: Any) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def found_ids(bundle: dict[str, Any]) -> list[int]:
    return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]


def post(client: Client, body: Any, path: str = "/fhir/DiagnosticReport") -> Any:
    return client.post(path, json.dumps(body), content_type=FHIR_JSON)


# --- ServiceRequest: the shape --------------------------------------------------------------------


def test_an_order_reads_as_a_uk_core_service_request(fbc, admitted, nurse, requester):
    body = read(signed_in(nurse), "ServiceRequest", fbc.pk)

    specimen = fbc.specimen
    assert body["meta"] == {"profile": [fhir.REQUEST_PROFILE]}
    assert body["identifier"] == [
        {
            "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "PLAC", "display": "Placer Identifier"}]},
            "system": settings.EPR_ORDER_NUMBER_SYSTEM,
            "value": fbc.number,
        }
    ]
    assert body["requisition"]["value"] == fbc.number  # placed alone: its own requisition
    assert body["status"] == "active"
    assert body["intent"] == "order"
    assert body["category"] == [
        {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
    ]
    assert body["priority"] == "urgent"
    assert body["code"] == {
        "coding": [
            {"system": SNOMED, "code": "26604007"},
            {"system": LOINC, "code": "57021-8"},
            {"system": "https://fhir.rxx.nhs.uk/Id/order-code", "code": "FBC", "display": "Full blood count"},
        ],
        "text": "Full blood count",
    }
    assert body["subject"] == {"reference": f"Patient/{admitted.patient_id}"}
    assert body["encounter"]["identifier"]["value"] == str(admitted.pk)
    assert body["authoredOn"] == instant(timezone.localtime(fbc.requested_at))
    assert body["occurrenceDateTime"] == instant(timezone.localtime(fbc.requested_for))
    assert body["requester"] == {"type": "Practitioner", "display": requester.get_full_name()}
    assert body["reasonCode"] == [{"text": "Fever after surgery"}]
    assert body["specimen"] == [{"reference": f"Specimen/{specimen.pk}"}]
    assert body["note"] == [{"text": "Bleep 2345 with the result"}]


def test_answers_go_in_notes_and_imaging_and_cardiology_have_their_categories(
    catalogue, requester, admitted, nurse
):
    answers = {"ECG": {"reason": "Palpitations"}}
    ecg = place(requester, admitted.patient, "ECG", answers=answers)[0]
    order_cancel(order=ecg, by=requester, reason="Done in the emergency department")
    client = signed_in(nurse)

    body = read(client, "ServiceRequest", ecg.pk)

    assert body["status"] == "revoked"
    assert body["category"][0]["coding"][0]["code"] == "103693007"
    assert body["note"] == [
        {"text": "Reason: Palpitations"},
        {"text": "Cancelled: Done in the emergency department"},
    ]
    assert "specimen" not in body
    imaging = Order.objects.filter(pk=ecg.pk)
    imaging.update(test=OrderableTest.objects.get(code="CXR"), answers={})
    assert read(client, "ServiceRequest", ecg.pk)["category"][0]["coding"][0] == {
        "system": SNOMED,
        "code": "363679005",
        "display": "Imaging",
    }


@pytest.mark.parametrize(
    ("status", "fhir_status"),
    [
        (OrderStatus.PLACED, "active"),
        (OrderStatus.SENT, "active"),
        (OrderStatus.RECEIVED, "active"),
        (OrderStatus.COLLECTED, "active"),
        (OrderStatus.IN_PROGRESS, "active"),
        (OrderStatus.PARTIAL, "active"),
        (OrderStatus.FINAL, "completed"),
        (OrderStatus.CORRECTED, "completed"),
        (OrderStatus.CANCELLED, "revoked"),
    ],
)
def test_order_statuses(fbc, nurse, status, fhir_status):
    Order.objects.filter(pk=fbc.pk).update(status=status, filler_number="LAB123")

    body = read(signed_in(nurse), "ServiceRequest", fbc.pk)

    assert body["status"] == fhir_status
    assert body["identifier"][1]["value"] == "LAB123"
    assert body["identifier"][1]["system"] == "https://fhir.rxx.nhs.uk/Id/filler-number"


def test_our_shape_agrees_with_the_uk_core_example(catalogue, requester, admitted, nurse):
    example = json.loads(
        third_party_testdata(
            f"{UKCORE}/UKCore-ServiceRequest-Lab-CReactiveProtein-Example.json", "UK Core"
        ).read_text()
    )
    crp = place(requester, admitted.patient, "CRP")[0]

    body = read(signed_in(nurse), "ServiceRequest", crp.pk)

    for element in ("status", "intent", "category"):
        assert body[element] == example[element]
    assert {c["system"] for c in body["code"]["coding"]} >= {c["system"] for c in example["code"]["coding"]}


def test_read_is_audited_and_named_in_the_access_log(fbc, admitted, nurse):
    read(signed_in(nurse), "ServiceRequest", fbc.pk)

    event = AuditEvent.objects.get(action=Action.VIEW, user_id=nurse.pk, channel="api")
    assert event.patient_id == admitted.patient_id
    assert describe(event) == "FHIR ServiceRequest read"


@pytest.mark.parametrize(
    "url", ["/fhir/ServiceRequest/999999", "/fhir/ServiceRequest/x", "/fhir/Specimen/999999"]
)
def test_unknown_orders_and_specimens_are_404(fbc, nurse, url):
    assert_outcome(signed_in(nurse).get(url), 404, "not-found")


def test_nothing_is_written(fbc, nurse):
    client = signed_in(nurse)

    assert_outcome(post(client, {"resourceType": "ServiceRequest"}, "/fhir/ServiceRequest"), 405)
    assert_outcome(client.put(f"/fhir/ServiceRequest/{fbc.pk}", {}, content_type=FHIR_JSON), 405)
    assert_outcome(post(client, {"resourceType": "Specimen"}, "/fhir/Specimen"), 405)
    assert_outcome(client.get("/fhir/Specimen"), 405)


# --- ServiceRequest: search -----------------------------------------------------------------------


@pytest.fixture
def several(catalogue, requester, admitted) -> dict[str, Order]:
    """An admission set (FBC and CRP together), then an ECG, then a CRP a minute apart."""
    patient = admitted.patient
    fbc, crp = place(requester, patient, "FBC", "CRP")
    ecg = place(requester, patient, "ECG", answers={"ECG": {"reason": "Baseline"}})[0]
    later = place(requester, patient, "CRP", reasons=_any_reason(requester, patient, "CRP"))[0]
    # FBC and CRP keep one moment (placed together); the ECG 20 minutes later, the second CRP 30.
    base = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    Order.objects.filter(pk__in=[fbc.pk, crp.pk]).update(requested_at=base)
    Order.objects.filter(pk=ecg.pk).update(requested_at=base + timedelta(minutes=20))
    Order.objects.filter(pk=later.pk).update(requested_at=base + timedelta(minutes=30), filler_number="LAB9")
    return {"fbc": fbc, "crp": crp, "ecg": ecg, "later": later}


def _any_reason(requester: Any, patient: Any, code: str) -> dict[str, str]:
    """A reason for each warning ordering the test again would raise (the duplicate check)."""
    test = OrderableTest.objects.get(code=code)
    return {w.key: "Clinically indicated" for w in warnings_for(patient, [test], now=timezone.now())}


def test_search_by_patient_newest_first_and_audited(several, requester, admitted, nurse):
    other = place(requester, PatientFactory(), "FBC")[0]
    client = signed_in(nurse)

    bundle = search(client, patient=f"Patient/{admitted.patient_id}")

    o = several
    assert found_ids(bundle)[:2] == [o["later"].pk, o["ecg"].pk]
    assert set(found_ids(bundle)[2:]) == {o["fbc"].pk, o["crp"].pk}
    assert bundle["total"] == 4
    assert other.pk not in found_ids(bundle)
    event = AuditEvent.objects.filter(action=Action.SEARCH, user_id=nurse.pk).order_by("id").first()
    assert event.patient_id == admitted.patient_id
    assert event.detail["service_requests"] == [str(pk) for pk in found_ids(bundle)]
    assert describe(event) == "FHIR ServiceRequest search"


def test_search_by_status_category_and_code(several, admitted, nurse):
    o = several
    Order.objects.filter(pk=o["crp"].pk).update(status=OrderStatus.FINAL)
    client = signed_in(nurse)

    def ids(**params: str) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, **params)))

    assert ids(status="completed") == {o["crp"].pk}
    assert ids(status=f"{fhir.REQUEST_STATUS}|active") == {o["fbc"].pk, o["ecg"].pk, o["later"].pk}
    assert ids(status="revoked") == ids(status="draft") == set()
    assert ids(category="108252007") == {o["fbc"].pk, o["crp"].pk, o["later"].pk}
    assert ids(category=f"{SNOMED}|103693007") == {o["ecg"].pk}
    assert ids(category="363679005") == ids(category="http://example.org|103693007") == set()
    assert ids(code="FBC") == ids(code=f"{SNOMED}|26604007") == ids(code=f"{LOINC}|57021-8") == {o["fbc"].pk}
    assert ids(code="https://fhir.rxx.nhs.uk/Id/order-code|CRP") == {o["crp"].pk, o["later"].pk}
    assert ids(code="FBC,ECG") == {o["fbc"].pk, o["ecg"].pk}
    assert ids(code=f"{LOINC}|FBC") == ids(code="fbc") == set()


def test_search_by_authored_identifier_and_requisition(several, admitted, nurse):
    o = several
    base = Order.objects.get(pk=o["fbc"].pk).requested_at
    client = signed_in(nurse)

    def ids(**params: Any) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, **params)))

    def at(minutes: int) -> str:
        return instant((base + timedelta(minutes=minutes)).astimezone(UTC))

    assert ids(authored=f"ge{at(20)}") == {o["ecg"].pk, o["later"].pk}
    assert ids(authored=f"gt{at(20)}") == {o["later"].pk}
    assert ids(authored=[f"ge{at(0)}", f"lt{at(20)}"]) == {o["fbc"].pk, o["crp"].pk}
    assert ids(authored=f"le{at(0)}") == {o["fbc"].pk, o["crp"].pk}
    assert ids(authored="2001-01-01") == set()
    number = o["ecg"].number
    assert (
        ids(identifier=number)
        == ids(identifier=f"{settings.EPR_ORDER_NUMBER_SYSTEM}|{number}")
        == {o["ecg"].pk}
    )
    assert ids(identifier="https://fhir.rxx.nhs.uk/Id/placer-number|" + number) == {o["ecg"].pk}
    assert (
        ids(identifier="LAB9")
        == ids(identifier="https://fhir.rxx.nhs.uk/Id/filler-number|LAB9")
        == {o["later"].pk}
    )
    assert ids(identifier=f"https://fhir.rxx.nhs.uk/Id/filler-number|{number}") == set()
    # FBC and CRP were placed together: either number finds both.
    together = {o["fbc"].pk, o["crp"].pk}
    assert ids(requisition=o["crp"].number) == ids(requisition=o["fbc"].number) == together
    assert ids(requisition=f"{fhir.requisition_system()}|{o['fbc'].number}") == together
    assert ids(requisition=o["ecg"].number) == {o["ecg"].pk}
    assert ids(requisition="http://example.org|" + o["fbc"].number) == ids(requisition="EPR0") == set()
    first = min(o["fbc"].number, o["crp"].number)
    bundle = search(client, patient=admitted.patient_id, requisition=o["crp"].number)
    assert {e["resource"]["requisition"]["value"] for e in bundle["entry"]} == {first}


@pytest.mark.parametrize(
    "params",
    [
        {"date": "2026"},
        {"authored": "yesterday"},
        {"_include": "ServiceRequest:specimen"},
        {"_sort": "priority"},
        {"patient": "Group/1"},
        {"_count": "0"},
    ],
)
def test_bad_searches_are_400(fbc, admitted, nurse, params):
    response = signed_in(nurse).get("/fhir/ServiceRequest", {"patient": admitted.patient_id, **params})
    assert_outcome(response, 400)


def test_staff_must_search_one_patient(fbc, nurse):
    assert_outcome(signed_in(nurse).get("/fhir/ServiceRequest", {"status": "active"}), 400, "required")


def test_search_pages_follow_next_links(several, admitted, nurse):
    client = signed_in(nurse)

    first = search(client, patient=admitted.patient_id, _count=3)
    links = {link["relation"]: link["url"] for link in first["link"]}
    second = body_of(client.get(links["next"].removeprefix("http://testserver")), "Bundle")

    assert len(first["entry"]) == 3 and len(second["entry"]) == 1
    assert set(found_ids(first)) | set(found_ids(second)) == {o.pk for o in several.values()}


@pytest.mark.parametrize("caller", ["staff", "system"])
def test_search_queries_do_not_grow_with_the_orders(client, catalogue, requester, admitted, nurse, caller):
    api = signed_in(nurse) if caller == "staff" else token_client(client, "Feed", ["system/*.read"])
    params = {"patient": admitted.patient_id, "_count": 100}

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            bundle = search(api, **params)
        return len(captured.captured_queries), bundle["total"]

    place(requester, admitted.patient, "FBC", "ECG", answers={"ECG": {"reason": "Baseline"}})
    queries()  # a bearer token is looked up once, then remembered
    few = queries()
    answers = {"CXR": {"question": "Consolidation?", "mobility": "Walking", "pregnancy": "Not pregnant"}}
    place(requester, admitted.patient, "UE", "LFT", "CXR", "CRP", answers=answers)
    many = queries()

    assert (few[1], many[1]) == (2, 6)
    assert few[0] == many[0]


# --- ServiceRequest: who may read -----------------------------------------------------------------


def test_an_outsider_is_refused_and_audited(fbc, admitted, outsider):
    client = signed_in(outsider)

    body = assert_outcome(client.get(f"/fhir/ServiceRequest/{fbc.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/ServiceRequest", {"patient": admitted.patient_id}), 403, "forbidden")
    assert_outcome(client.get(f"/fhir/Specimen/{fbc.specimen.pk}"), 403, "forbidden")

    assert "no care relationship" in body["issue"][0]["diagnostics"]
    denied = AuditEvent.objects.filter(user_id=outsider.pk, action=Action.DENIED)
    assert [e.patient_id for e in denied] == [admitted.patient_id] * 3


def test_a_role_that_does_not_see_orders_is_refused_and_audited(fbc, admitted, nurse):
    seen = Permission.objects.get(content_type__app_label="orders", codename="view_order")
    for group in nurse.groups.all():
        group.permissions.remove(seen)
    client = signed_in(nurse)

    body = assert_outcome(client.get(f"/fhir/ServiceRequest/{fbc.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/ServiceRequest", {"patient": admitted.patient_id}), 403, "forbidden")
    assert_outcome(client.get(f"/fhir/Specimen/{fbc.specimen.pk}"), 403, "forbidden")

    assert body["issue"][0]["diagnostics"] == "Your role does not see orders."
    assert AuditEvent.objects.filter(user_id=nurse.pk, action=Action.DENIED).count() == 3


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["system/*.read"], 200),
        (["system/ServiceRequest.read", "system/Specimen.read"], 200),
        (["system/DiagnosticReport.read", "system/ServiceRequest.write", "system/*.write"], 403),
    ],
)
def test_system_clients_need_the_read_scope(client, fbc, scopes, status):
    api = token_client(client, "Warehouse", scopes)

    assert api.get(f"/fhir/ServiceRequest/{fbc.pk}").status_code == status
    assert api.get("/fhir/ServiceRequest").status_code == status
    assert api.get(f"/fhir/Specimen/{fbc.specimen.pk}").status_code == status
    if status == 200:
        views = AuditEvent.objects.filter(
            api_client="Warehouse", action=Action.VIEW, patient_id=fbc.patient_id
        )
        assert sorted(describe(e) for e in views) == ["FHIR ServiceRequest read", "FHIR Specimen read"]


def test_no_credentials_is_401(client, fbc):
    assert_outcome(client.get(f"/fhir/ServiceRequest/{fbc.pk}"), 401)
    assert_outcome(client.get(f"/fhir/Specimen/{fbc.specimen.pk}"), 401)


# --- Specimen -------------------------------------------------------------------------------------


def test_a_specimen_before_and_after_it_is_taken(fbc, admitted, nurse):
    client = signed_in(nurse)
    specimen = fbc.specimen

    waiting = read(client, "Specimen", specimen.pk)
    taken_at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    specimen_collect(order=fbc, by=nurse, collected_at=taken_at)
    taken = read(client, "Specimen", specimen.pk)

    assert waiting == {
        "resourceType": "Specimen",
        "id": str(specimen.pk),
        "meta": {"profile": [fhir.SPECIMEN_PROFILE]},
        "identifier": [{"system": settings.EPR_ORDER_NUMBER_SYSTEM, "value": fbc.number}],
        "status": "unavailable",
        "type": {
            "coding": [{"system": SNOMED, "code": "445295009", "display": "Venous blood"}],
            "text": "Venous blood",
        },
        "subject": {"reference": f"Patient/{admitted.patient_id}"},
        "request": [{"reference": f"ServiceRequest/{fbc.pk}"}],
        "container": [{"description": "Lavender top (EDTA)"}],
    }
    assert taken["status"] == "available"
    assert taken["collection"] == {
        "collector": {"type": "Practitioner", "display": nurse.get_full_name()},
        "collectedDateTime": instant(timezone.localtime(taken_at)),
    }
    assert read(client, "ServiceRequest", fbc.pk)["status"] == "active"  # collected is still active


# --- DiagnosticReport: basedOn --------------------------------------------------------------------


def test_a_report_filed_to_its_order_is_based_on_it_and_found_by_it(fbc, admitted, nurse):
    answer = results_receive(oru_for(admitted.patient, "FBC", placer=fbc.number), channel="test")
    unsolicited = results_receive(oru_for(admitted.patient, "CRP"), channel="test")
    report = ResultReport.objects.get(pk=answer.report_ids[0])
    client = signed_in(nurse)

    body = read(client, "DiagnosticReport", report.pk)

    assert report.order_id == fbc.pk
    assert body["basedOn"] == [{"reference": f"ServiceRequest/{fbc.pk}"}]
    assert "basedOn" not in read(client, "DiagnosticReport", unsolicited.report_ids[0])

    def ids(value: str) -> list[int]:
        return found_ids(
            search(client, "DiagnosticReport", patient=admitted.patient_id, **{"based-on": value})
        )

    assert ids(f"ServiceRequest/{fbc.pk}") == ids(str(fbc.pk)) == [report.pk]
    assert ids("ServiceRequest/999999") == []
    assert_outcome(
        client.get("/fhir/DiagnosticReport", {"patient": admitted.patient_id, "based-on": "Patient/1"}), 400
    )
    assert read(client, "ServiceRequest", fbc.pk)["status"] == "completed"


# --- DiagnosticReport create ----------------------------------------------------------------------


def potassium(value: float = 5.9, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "k",
        "status": "final",
        "code": {
            "coding": [{"system": LOINC, "code": "2823-3", "display": "Potassium"}],
            "text": "Potassium",
        },
        "valueQuantity": {
            "value": value,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
        "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 5.3}}],
        "interpretation": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": "H",
                    }
                ]
            }
        ],
        **extra,
    }


def sodium() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "na",
        "status": "preliminary",
        "code": {"coding": [{"system": LOINC, "code": "2951-2"}], "text": "Sodium"},
        "valueQuantity": {"value": 139, "unit": "mmol/L"},
        "referenceRange": [{"text": "133-146"}],
        "note": [{"text": "Repeat advised"}],
    }


def comment() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "c",
        "status": "final",
        "code": {"text": "Haemolysis index"},
        "valueString": "Moderate",
    }


def report_body(
    patient_id: int, *, observations: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    values = observations if observations is not None else [potassium(), sodium(), comment()]
    return {
        "resourceType": "DiagnosticReport",
        "contained": values,
        "identifier": [{"system": "https://lab.example.org/report", "value": "LAB-2026-0001"}],
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
        ],
        "code": {
            "coding": [{"system": LOINC, "code": "24326-1", "display": "Electrolytes panel"}],
            "text": "U&E",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2026-11-30T09:00:00+00:00",
        "issued": "2026-11-30T11:30:00Z",
        "result": [{"reference": f"#{o['id']}"} for o in values],
        "conclusion": "Sample slightly haemolysed",
        **extra,
    }


@pytest.fixture
def lab(client) -> Client:
    return token_client(client, "WinPath", WRITE)


def test_a_laboratory_files_a_report_to_its_order(lab, fbc, admitted):
    sent = report_body(admitted.patient_id, basedOn=[{"reference": f"ServiceRequest/{fbc.pk}"}])

    response = post(lab, sent)

    assert response.status_code == 201, response.content
    body = body_of(response, "DiagnosticReport")
    report = ResultReport.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver/fhir/DiagnosticReport/{report.pk}"
    assert (report.filing, report.order_id, report.patient_id) == (Filing.FILED, fbc.pk, admitted.patient_id)
    assert (report.placer_number, report.filler_number, report.code, report.code_system) == (
        fbc.number,
        "LAB-2026-0001",
        "24326-1",
        "LN",
    )
    assert (report.status, report.notes, report.name) == ("F", "Sample slightly haemolysed", "U&E")
    assert report.observed_at.isoformat() == "2026-11-30T09:00:00+00:00"
    assert report.abnormal and not report.critical
    k, na, text = report.observations.order_by("pk")
    assert (k.code, k.code_system, k.value_number, k.value_text, k.unit, k.flag, k.status) == (
        "2823-3",
        "LN",
        Decimal("5.9"),
        "5.9",
        "mmol/L",
        "H",
        "F",
    )
    assert (k.reference_range, k.observed_at) == ("3.5-5.3", report.observed_at)
    assert (na.status, na.reference_range, na.notes, na.value_text) == (
        "P",
        "133-146",
        "Repeat advised",
        "139",
    )
    assert (text.code, text.value_type, text.value_text) == ("", "ST", "Moderate")
    # What is sent back is the report as this server serves it.
    assert body["basedOn"] == [{"reference": f"ServiceRequest/{fbc.pk}"}]
    assert [c["code"].get("coding", [{}])[0].get("code") for c in body["contained"]] == [
        "2823-3",
        "2951-2",
        None,
    ]
    assert body["contained"][0]["interpretation"][0]["coding"][0]["code"] == "H"
    order = Order.objects.get(pk=fbc.pk)
    assert (order.status, order.filler_number) == (OrderStatus.FINAL, "LAB-2026-0001")
    message = InboundMessage.objects.get(pk=report.message_id)
    assert (message.sender, message.client, message.channel, message.message_type) == (
        "WinPath",
        "WinPath",
        "fhir",
        "DiagnosticReport",
    )
    assert message.control_id.startswith("LAB-2026-0001#")
    assert json.loads(message.raw) == sent
    events = AuditEvent.objects.filter(api_client="WinPath", action=Action.CREATE)
    assert {(e.channel, e.patient_id) for e in events} == {
        ("api", admitted.patient_id),
        ("system", admitted.patient_id),
    }
    assert "FHIR DiagnosticReport create" in {describe(e) for e in events}


def test_the_same_report_twice_files_once_and_answers_200(lab, admitted):
    first = post(lab, report_body(admitted.patient_id))
    again = post(lab, report_body(admitted.patient_id))

    assert (first.status_code, again.status_code) == (201, 200)
    assert body_of(again, "DiagnosticReport")["id"] == body_of(first, "DiagnosticReport")["id"]
    assert again["Location"] == first["Location"]
    assert ResultReport.objects.count() == 1


def test_a_correction_under_the_same_identifier_is_filed_and_replaces_the_value(lab, admitted):
    first = body_of(post(lab, report_body(admitted.patient_id)), "DiagnosticReport")
    corrected = report_body(
        admitted.patient_id, observations=[potassium(4.1, status="corrected")], status="corrected"
    )

    response = post(lab, corrected)

    assert response.status_code == 201, response.content
    assert body_of(response, "DiagnosticReport")["status"] == "corrected"
    was = ResultReport.objects.get(pk=first["id"]).observations.get(code="2823-3")
    assert was.superseded_by is not None and was.superseded_by.value_number == Decimal("4.1")


def test_a_subject_by_nhs_number_is_matched(lab, admitted):
    subject = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": admitted.patient.nhs_number}}

    response = post(lab, report_body(admitted.patient_id, subject=subject))

    assert response.status_code == 201, response.content
    assert body_of(response, "DiagnosticReport")["subject"] == {"reference": f"Patient/{admitted.patient_id}"}


def test_a_patient_who_does_not_match_waits_in_the_unmatched_queue(lab, admitted, nurse):
    subject = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "9990000026"}}

    response = post(lab, report_body(admitted.patient_id, subject=subject))
    again = post(lab, report_body(admitted.patient_id, subject=subject))

    body = assert_outcome(response, 202, "informational")
    assert body["issue"][0]["severity"] == "information"
    assert "unmatched results queue" in body["issue"][0]["diagnostics"]
    assert again.status_code == 202
    report = ResultReport.objects.get()
    assert (report.filing, report.patient_id, report.sent_nhs_number) == (
        Filing.UNMATCHED,
        None,
        "9990000026",
    )
    assert_outcome(signed_in(nurse).get(f"/fhir/DiagnosticReport/{report.pk}"), 404)


def test_a_report_rejected_from_the_queue_and_sent_again_is_refused(lab, admitted, admin_user):
    subject = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "9990000026"}}
    assert post(lab, report_body(admitted.patient_id, subject=subject)).status_code == 202
    unmatched_reject(by=admin_user, report=ResultReport.objects.get(), reason="Not our patient")

    again = post(lab, report_body(admitted.patient_id, subject=subject))

    assert (
        "rejected from the unmatched"
        in assert_outcome(again, 422, "business-rule")["issue"][0]["diagnostics"]
    )
    assert ResultReport.objects.count() == 1


def test_a_report_naming_another_patients_order_is_not_filed_to_either(lab, fbc, admitted):
    other = PatientFactory()
    sent = report_body(other.pk, basedOn=[{"reference": f"ServiceRequest/{fbc.pk}"}])

    response = post(lab, sent)

    assert_outcome(response, 202, "informational")
    report = ResultReport.objects.get()
    assert report.patient_id is None and report.order_id is None
    assert "not the order of the patient" in report.mismatch


def test_an_order_number_by_identifier_finds_the_order(lab, fbc, admitted):
    based_on = [{"identifier": {"system": settings.EPR_ORDER_NUMBER_SYSTEM, "value": fbc.number}}]

    response = post(lab, report_body(admitted.patient_id, basedOn=based_on))

    assert response.status_code == 201, response.content
    assert ResultReport.objects.get().order_id == fbc.pk


def test_the_uk_core_example_report_adapted_to_a_patient_is_filed(lab, admitted):
    folder = third_party_testdata(UKCORE, "UK Core examples")
    report = json.loads(
        (folder / "UKCore-DiagnosticReport-Lab-DiagnosticStudiesReport-Example.json").read_text()
    )
    cells = [
        json.loads((folder / f"UKCore-Observation-Lab-{name}-Example.json").read_text())
        for name in ("WhiteCellCount", "RedCellCount")
    ]
    for n, cell in enumerate(cells):
        for element in ("subject", "performer", "specimen", "text"):
            cell.pop(element, None)
        cell["id"] = f"cell{n}"
    report.pop("id")
    report.pop("specimen")
    report["subject"] = {"reference": f"Patient/{admitted.patient_id}"}
    report["contained"] = cells
    report["result"] = [{"reference": f"#{c['id']}"} for c in cells]

    response = post(lab, report)

    assert response.status_code == 201, response.content
    body = body_of(response, "DiagnosticReport")
    assert body["code"]["coding"][0] == {
        "system": SNOMED,
        "code": "721981007",
        "display": "Diagnostic studies report",
    }
    assert body["effectiveDateTime"] == "2023-01-13T14:53:23Z"
    white = body["contained"][0]
    assert white["code"]["coding"][0]["code"] == "16181000237107"
    assert white["valueQuantity"] == {"value": 11.2, "unit": "10*9/L"}
    assert white["referenceRange"] == [
        {"low": {"value": 4, "unit": "10*9/L"}, "high": {"value": 17, "unit": "10*9/L"}}
    ]
    assert ResultReport.objects.get().filler_number == "727071dc-eb01-4224-8ee8-cc0a029787ac"


def _without(body: dict[str, Any], element: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed.pop(element)
    return changed


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        (lambda b: "not json", 400, "JSON"),
        (lambda b: [b], 400, "JSON object"),
        (lambda b: {**b, "resourceType": "Observation"}, 400, "Expected a DiagnosticReport"),
        (lambda b: _without(b, "subject"), 422, "subject is required"),
        (lambda b: _without(b, "code"), 400, "code"),
        (
            lambda b: {**b, "code": {"coding": [{"system": "http://example.org/x", "code": "1"}]}},
            422,
            "needs words",
        ),
        (lambda b: {**b, "subject": {"reference": "Patient/999999"}}, 422, "not a patient of this server"),
        (lambda b: {**b, "subject": {"reference": "Group/1"}}, 422, "subject must be"),
        (
            lambda b: {**b, "basedOn": [{"reference": "ServiceRequest/999999"}]},
            422,
            "not an order of this server",
        ),
        (lambda b: {**b, "effectiveDateTime": "30/11/2026"}, 400, "effectiveDateTime"),
        (lambda b: {**b, "issued": "2026-11-30T09:00"}, 400, "issued"),
        (lambda b: {**b, "status": "entered-in-error"}, 422, "cannot be filed"),
        (lambda b: {**b, "status": "finished"}, 422, "cannot be filed"),
        (lambda b: {**b, "result": [{"reference": "#nothing"}]}, 422, "contained in the report"),
        (lambda b: {**b, "result": [{"reference": "Observation/1"}]}, 422, "contained in the report"),
        (
            lambda b: {**b, "contained": [_without(potassium(), "valueQuantity"), sodium(), comment()]},
            422,
            "no value",
        ),
        (lambda b: {**b, "contained": [{**potassium(), "valueQuantity": {"value": "high"}}]}, 400, "value"),
        (
            lambda b: {**b, "contained": [potassium(status="unknown"), sodium(), comment()]},
            422,
            "cannot be filed",
        ),
        (lambda b: {**b, "conclusion": 12}, 400, "conclusion"),
    ],
)
def test_bad_reports_are_refused_with_a_reason(lab, admitted, change, status, says):
    sent = change(report_body(admitted.patient_id))
    text = sent if isinstance(sent, str) else json.dumps(sent)

    response = lab.post("/fhir/DiagnosticReport", text, content_type=FHIR_JSON)

    body = assert_outcome(response, status)
    assert says in body["issue"][0]["diagnostics"]
    assert not ResultReport.objects.exists() and not InboundMessage.objects.exists()


def test_a_value_too_long_for_the_results_tables_is_422(lab, admitted):
    long_unit = potassium()
    long_unit["valueQuantity"]["unit"] = "u" * 61

    response = post(lab, report_body(admitted.patient_id, observations=[long_unit]))

    assert "longer than this server keeps" in assert_outcome(response, 422)["issue"][0]["diagnostics"]
    assert not ResultReport.objects.exists()


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(["system/DiagnosticReport.read"], 403), (["system/Observation.write"], 403), (["system/*.write"], 201)],
)
def test_a_client_needs_the_write_scope(client, admitted, scopes, status):
    api = token_client(client, "Feed", scopes)

    assert post(api, report_body(admitted.patient_id)).status_code == status


def test_staff_do_not_file_reports(admitted, doctor):
    body = assert_outcome(post(signed_in(doctor), report_body(admitted.patient_id)), 403, "forbidden")
    assert "laboratory system" in body["issue"][0]["diagnostics"]


# --- DiagnosticReport in a transaction Bundle -----------------------------------------------------


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000",
                "resource": e,
                "request": {"method": "POST", "url": e["resourceType"]},
            }
            for n, e in enumerate(entries)
        ],
    }


def test_a_transaction_files_its_reports(lab, fbc, admitted):
    other = PatientFactory()
    sent = bundle(
        report_body(admitted.patient_id, basedOn=[{"reference": f"ServiceRequest/{fbc.pk}"}]),
        report_body(other.pk, identifier=[{"system": "https://lab.example.org/report", "value": "LAB-2"}]),
    )

    response = post(lab, sent, "/fhir")
    again = post(lab, sent, "/fhir")

    assert response.status_code == 200, response.content
    answered = body_of(response, "Bundle")
    first, second = ResultReport.objects.order_by("pk")
    assert [e["response"] for e in answered["entry"]] == [
        {"status": "201 Created", "location": f"DiagnosticReport/{first.pk}"},
        {"status": "201 Created", "location": f"DiagnosticReport/{second.pk}"},
    ]
    assert (first.order_id, first.patient_id, second.patient_id) == (fbc.pk, admitted.patient_id, other.pk)
    assert [e["response"]["status"] for e in body_of(again, "Bundle")["entry"]] == ["200 OK", "200 OK"]
    assert ResultReport.objects.count() == 2


def test_a_transaction_is_all_or_nothing(lab, admitted):
    unmatched = report_body(
        admitted.patient_id,
        subject={"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "9990000026"}},
        identifier=[{"value": "LAB-3"}],
    )

    response = post(lab, bundle(report_body(admitted.patient_id), unmatched), "/fhir")

    body = assert_outcome(response, 422, "business-rule")
    assert body["issue"][0]["diagnostics"].startswith("Bundle.entry[1]: The patient did not match")
    assert body["issue"][0]["expression"] == ["Bundle.entry[1].resource.subject"]
    assert not ResultReport.objects.exists() and not InboundMessage.objects.exists()


def test_observation_entries_of_a_report_are_refused_with_the_way_to_send_them(client, admitted):
    lab = token_client(client, "Lab", ["system/*.write"])  # may create Observations too
    observation = {**potassium(), "subject": {"reference": f"Patient/{admitted.patient_id}"}}
    observation.pop("id")
    report = report_body(admitted.patient_id, observations=[])
    report["result"] = [{"reference": "urn:uuid:00000001-0000-4000-8000-000000000000"}]

    response = post(lab, bundle(report, observation), "/fhir")

    body = assert_outcome(response, 422, "not-supported")
    assert "contain the report's Observations" in body["issue"][0]["diagnostics"]
    assert body["issue"][0]["expression"] == ["Bundle.entry[0].resource.result[0]"]


def test_staff_file_no_reports_in_a_transaction(admitted, doctor):
    response = post(signed_in(doctor), bundle(report_body(admitted.patient_id)), "/fhir")

    assert "laboratory system" in assert_outcome(response, 403, "forbidden")["issue"][0]["diagnostics"]
