"""The FHIR DiagnosticReport API (read and search only) for laboratory results, each value an Observation
contained in its report: every response is checked with fhir.resources R4B, every call leaves its audit
row, a report not filed to a patient is never served, and a search page costs the same number of
queries however many reports there are."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from epr.audit.models import Action, AuditEvent
from epr.audit.selectors import describe
from epr.fhir.resources import pruned
from orders.fhir import reports as fhir
from orders.models import Filing, ResultObservation, ResultReport
from orders.rules.hl7 import LONDON
from orders.samples import oru_for
from orders.services.results import results_receive, unmatched_reject
from records import services as records
from tests.factories import PatientFactory
from tests.support import assert_outcome, body_of, signed_in, token_client

pytestmark = pytest.mark.django_db
User = get_user_model()

LOINC, LAB = fhir.LOINC, fhir.REPORT_CATEGORY
TAKEN = datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)  # GMT: 09:00Z


# --- Helpers --------------------------------------------------------------------------------------


def receive(patient: Any, panel: str = "U&E", *, edit: Any = None, **kwargs: Any) -> ResultReport:
    """File one ORU of the panel through the HL7 intake; `edit` changes the message text first."""
    message = oru_for(patient, panel, **kwargs)
    if edit is not None:
        message = edit(message)
    answer = results_receive(message, channel="test")
    assert answer.code == "AA", answer.ack
    return ResultReport.objects.order_by("-pk").first()  # type: ignore[return-value]


def search(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/fhir/DiagnosticReport", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def found_ids(bundle: dict[str, Any]) -> list[int]:
    return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]


def read(client: Client, pk: int) -> dict[str, Any]:
    response = client.get(f"/fhir/DiagnosticReport/{pk}")
    assert response.status_code == 200, response.content
    return body_of(response, "DiagnosticReport")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def with_notes(message: str) -> str:
    """A comment on the report and on its first value (a U&E's potassium), and a preliminary text value."""
    lines = message.rstrip("\r").split("\r")
    obr = next(i for i, line in enumerate(lines) if line.startswith("OBR"))
    lines.insert(obr + 1, "NTE|1||Sample slightly haemolysed")
    first = next(i for i, line in enumerate(lines) if line.startswith("OBX"))
    lines.insert(first + 1, "NTE|1||Repeat advised")
    lines.append("OBX|9|ST|XHAEM^Haemolysis index^L||Moderate|||A|||P")
    return "\r".join(lines) + "\r"


def placer(number: str) -> Any:
    return lambda message: message.replace("\rOBR|1||", f"\rOBR|1|{number}|", 1)


def wrong_name(message: str) -> str:
    return message.replace("|Smith^", "|Smyth^", 1)


# --- Fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def report(admitted) -> ResultReport:
    """A U&E for the admitted patient: a high potassium, a commented report, and a text value."""
    return receive(
        admitted.patient,
        values={"2823-3": Decimal("5.9")},
        taken_at=TAKEN,
        edit=lambda m: with_notes(placer("ORD77")(m)),
    )


@pytest.fixture
def unmatched(admitted) -> ResultReport:
    found = receive(admitted.patient, "CRP", taken_at=TAKEN, edit=wrong_name)
    assert found.filing == Filing.UNMATCHED and found.patient_id is None
    return found


# --- CapabilityStatement --------------------------------------------------------------------------


def test_metadata_describes_the_diagnostic_report(client):
    body = body_of(client.get("/fhir/metadata"), "CapabilityStatement")

    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    report = resources["DiagnosticReport"]
    assert report["profile"] == "https://fhir.hl7.org.uk/StructureDefinition/UKCore-DiagnosticReport"
    assert [i["code"] for i in report["interaction"]] == ["read", "search-type", "create"]
    assert {"patient", "status", "category", "code", "date", "identifier", "based-on", "_offset"} <= {
        p["name"] for p in report["searchParam"]
    }


def test_staff_file_nothing_and_nothing_is_updated_through_the_api(doctor):
    # Reports are created only by a laboratory system (tests/orders/test_fhir_orders.py).
    client = signed_in(doctor)

    post = client.post(
        "/fhir/DiagnosticReport", {"resourceType": "DiagnosticReport"}, "application/fhir+json"
    )
    assert_outcome(post, 403, "forbidden")
    assert_outcome(client.put("/fhir/DiagnosticReport/1", {}, content_type="application/fhir+json"), 405)


# --- Read -----------------------------------------------------------------------------------------


def test_a_report_reads_as_uk_core_with_its_values_contained(report, admitted, nurse, settings):
    settings.EPR_ORGANISATION_ODS = "RXX"
    # orders.samples writes the report time one field early (OBR-21, not OBR-22): set it here.
    ResultReport.objects.filter(pk=report.pk).update(issued_at=TAKEN.replace(hour=11, minute=30))
    body = read(signed_in(nurse), report.pk)

    potassium, sodium, urea, creatinine, egfr, haemolysis = ResultObservation.objects.filter(
        report=report
    ).order_by("pk")
    patient = {"reference": f"Patient/{admitted.patient_id}"}
    assert body["id"] == str(report.pk)
    assert body["meta"] == {"profile": [fhir.REPORT_PROFILE]}
    assert body["status"] == "final"
    assert body["category"] == [{"coding": [{"system": LAB, "code": "LAB", "display": "Laboratory"}]}]
    local = "https://fhir.rxx.nhs.uk/Id/lab-code"
    assert body["code"] == {
        "coding": [{"system": local, "code": "U&E", "display": "Urea and electrolytes"}],
        "text": "Urea and electrolytes",
    }
    assert body["subject"] == patient
    assert body["effectiveDateTime"] == "2026-11-30T09:00:00Z"
    assert body["issued"] == "2026-11-30T11:30:00Z"
    assert body["identifier"] == [
        {
            "type": {
                "coding": [{"system": fhir.IDENTIFIER_TYPE, "code": "PLAC", "display": "Placer Identifier"}]
            },
            "system": "https://fhir.rxx.nhs.uk/Id/placer-number",
            "value": "ORD77",
        },
        {
            "type": {
                "coding": [{"system": fhir.IDENTIFIER_TYPE, "code": "FILL", "display": "Filler Identifier"}]
            },
            "system": "https://fhir.rxx.nhs.uk/Id/filler-number",
            "value": report.filler_number,
        },
    ]
    assert body["conclusion"] == "Sample slightly haemolysed"
    values = [potassium, sodium, urea, creatinine, egfr, haemolysis]
    assert body["result"] == [{"reference": f"#obs-{o.pk}", "display": o.name} for o in values]
    contained = {c["id"]: c for c in body["contained"]}
    assert list(contained) == [f"obs-{o.pk}" for o in values]

    k = contained[f"obs-{potassium.pk}"]
    assert k == {
        "resourceType": "Observation",
        "id": f"obs-{potassium.pk}",
        "meta": {"profile": [fhir.OBSERVATION_PROFILE]},
        "status": "final",
        "category": [
            {"coding": [{"system": fhir.OBSERVATION_CATEGORY, "code": "laboratory", "display": "Laboratory"}]}
        ],
        "code": {
            "coding": [{"system": LOINC, "code": "2823-3", "display": "Potassium"}],
            "text": "Potassium",
        },
        "subject": patient,
        "effectiveDateTime": "2026-11-30T09:00:00Z",
        "valueQuantity": {"value": 5.9, "unit": "mmol/L"},
        "interpretation": [{"coding": [{"system": fhir.INTERPRETATION, "code": "H", "display": "High"}]}],
        "referenceRange": [
            {"low": {"value": 3.5, "unit": "mmol/L"}, "high": {"value": 5.3, "unit": "mmol/L"}}
        ],
        "note": [{"text": "Repeat advised"}],
    }
    assert contained[f"obs-{sodium.pk}"]["valueQuantity"] == {"value": 139, "unit": "mmol/L"}
    assert "interpretation" not in contained[f"obs-{sodium.pk}"]
    # A one-sided range gives its one bound and keeps its words.
    assert contained[f"obs-{egfr.pk}"]["referenceRange"] == [
        {"low": {"value": 90, "unit": "mL/min/1.73m2"}, "text": ">90"}
    ]
    text = contained[f"obs-{haemolysis.pk}"]
    assert text["valueString"] == "Moderate"
    assert text["status"] == "preliminary"
    assert text["code"]["coding"][0]["system"] == local
    assert text["interpretation"] == [
        {"coding": [{"system": fhir.INTERPRETATION, "code": "A", "display": "Abnormal"}]}
    ]
    assert "referenceRange" not in text and "valueQuantity" not in text


@pytest.mark.parametrize(
    ("hl7", "status"),
    [("F", "final"), ("C", "corrected"), ("P", "preliminary"), ("X", "cancelled"), ("I", "registered")],
)
def test_report_and_value_statuses_from_hl7(report, nurse, hl7, status):
    ResultReport.objects.filter(pk=report.pk).update(status=hl7)
    ResultObservation.objects.filter(report=report).update(status=hl7)

    body = read(signed_in(nurse), report.pk)

    assert body["status"] == status
    assert {c["status"] for c in body["contained"]} == {status}


@pytest.mark.parametrize(
    ("range_text", "expected"),
    [
        ("3.5-5.3", [{"low": {"value": 3.5, "unit": "u"}, "high": {"value": 5.3, "unit": "u"}}]),
        ("-2-2", [{"low": {"value": -2, "unit": "u"}, "high": {"value": 2, "unit": "u"}}]),
        ("<5", [{"high": {"value": 5, "unit": "u"}, "text": "<5"}]),
        (">=0.5", [{"low": {"value": 0.5, "unit": "u"}, "text": ">=0.5"}]),
        ("Negative", [{"text": "Negative"}]),
        ("", []),
    ],
)
def test_reference_ranges(range_text, expected):
    assert fhir.reference_range(range_text, "u") == expected


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("HH", [{"coding": [{"system": fhir.INTERPRETATION, "code": "HH", "display": "Critical high"}]}]),
        ("LL", [{"coding": [{"system": fhir.INTERPRETATION, "code": "LL", "display": "Critical low"}]}]),
        ("N", [{"coding": [{"system": fhir.INTERPRETATION, "code": "N", "display": "Normal"}]}]),
        ("ZZ", [{"text": "ZZ"}]),
        ("", []),
    ],
)
def test_flags_as_interpretations(flag, expected):
    assert [pruned(c) for c in fhir.interpretation(flag)] == expected


def test_a_structured_numeric_keeps_its_comparator(admitted, nurse):
    found = receive(
        admitted.patient,
        "CRP",
        edit=lambda m: m.replace("|NM|1988-5^CRP^LN||3|", "|SN|1988-5^CRP^LN||<^5|"),
    )

    body = read(signed_in(nurse), found.pk)

    assert body["contained"][0]["valueQuantity"] == {"value": 5, "comparator": "<", "unit": "mg/L"}


def test_read_is_audited_against_the_patient(report, admitted, nurse):
    read(signed_in(nurse), report.pk)

    event = AuditEvent.objects.get(action=Action.VIEW, user_id=nurse.pk, channel="api")
    assert event.patient_id == admitted.patient_id
    assert describe(event) == "FHIR DiagnosticReport read"


@pytest.mark.parametrize("url", ["/fhir/DiagnosticReport/999999", "/fhir/DiagnosticReport/x1"])
def test_unknown_reports_are_404(report, nurse, url):
    assert_outcome(signed_in(nurse).get(url), 404, "not-found")


# --- Reports not filed to a patient ---------------------------------------------------------------


def test_an_unmatched_or_rejected_report_is_never_served(client, report, unmatched, admin_user, nurse):
    api = token_client(client, "Warehouse", ["system/*.read"])

    assert_outcome(api.get(f"/fhir/DiagnosticReport/{unmatched.pk}"), 404, "not-found")
    assert_outcome(signed_in(nurse).get(f"/fhir/DiagnosticReport/{unmatched.pk}"), 404, "not-found")
    assert found_ids(search(api)) == [report.pk]
    assert found_ids(search(api, code="CRP")) == []

    unmatched_reject(by=admin_user, report=unmatched, reason="Not our patient")
    assert_outcome(api.get(f"/fhir/DiagnosticReport/{unmatched.pk}"), 404, "not-found")
    assert found_ids(search(api)) == [report.pk]


# --- Search ---------------------------------------------------------------------------------------


@pytest.fixture
def three(admitted) -> list[ResultReport]:
    """A U&E, a full blood count a day later, and a CRP a day after that (placer numbers P1..P3)."""
    patient = admitted.patient
    return [
        receive(patient, panel, taken_at=TAKEN + timedelta(days=n), edit=placer(f"P{n + 1}"))
        for n, panel in enumerate(["U&E", "FBC", "CRP"])
    ]


def test_search_by_patient_newest_first_and_audited(three, admitted, nurse):
    other = receive(PatientFactory(), "CRP")
    client = signed_in(nurse)

    bundle = search(client, patient=f"Patient/{admitted.patient_id}")

    ue, fbc, crp = three
    assert found_ids(bundle) == [crp.pk, fbc.pk, ue.pk]
    assert bundle["total"] == 3
    assert found_ids(search(client, patient=admitted.patient_id, _sort="date")) == [ue.pk, fbc.pk, crp.pk]
    assert other.pk not in found_ids(bundle)
    event = AuditEvent.objects.filter(action=Action.SEARCH, user_id=nurse.pk).order_by("id").first()
    assert event.patient_id == admitted.patient_id
    assert event.detail["criteria"] == ["patient"]
    assert event.detail["diagnostic_reports"] == [str(crp.pk), str(fbc.pk), str(ue.pk)]
    assert describe(event) == "FHIR DiagnosticReport search"


def test_search_by_status(three, admitted, nurse):
    ue, fbc, crp = three
    ResultReport.objects.filter(pk=fbc.pk).update(status="C")
    ResultReport.objects.filter(pk=crp.pk).update(status="I")
    client = signed_in(nurse)

    def ids(status: str) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, status=status)))

    assert ids("final") == {ue.pk}
    assert ids(f"{fhir.REPORT_STATUS}|corrected") == {fbc.pk}
    assert ids("registered") == {crp.pk}
    assert ids("final,corrected") == {ue.pk, fbc.pk}
    assert ids("preliminary") == ids("cancelled") == ids("partial") == set()
    assert ids("http://example.org/other|final") == set()


def test_search_by_category(three, admitted, nurse):
    client = signed_in(nurse)

    def ids(category: str) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, category=category)))

    everything = {r.pk for r in three}
    assert ids("LAB") == ids(f"{LAB}|LAB") == everything
    assert ids("RAD") == ids("http://snomed.info/sct|LAB") == set()


def test_search_by_code(three, admitted, nurse, settings):
    settings.EPR_ORGANISATION_ODS = "RXX"
    ue, fbc, crp = three
    ResultReport.objects.filter(pk=crp.pk).update(code="1988-5", code_system="LN")
    client = signed_in(nurse)

    def ids(code: str) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, code=code)))

    assert ids("U&E") == {ue.pk}
    assert ids("https://fhir.rxx.nhs.uk/Id/lab-code|FBC") == {fbc.pk}
    assert ids(f"{LOINC}|1988-5") == ids("1988-5") == {crp.pk}
    assert ids(f"{LOINC}|FBC") == ids("https://fhir.rxx.nhs.uk/Id/lab-code|1988-5") == set()
    assert ids("U&E,FBC") == {ue.pk, fbc.pk}
    assert ids("http://snomed.info/sct|U&E") == ids("u&e") == ids(f"{LOINC}|") == set()


def test_search_by_date_at_its_boundaries(three, admitted, nurse):
    ue, fbc, crp = three  # taken 30 November, 1 and 2 December, at 09:00 (GMT)
    client = signed_in(nurse)

    def ids(*dates: str) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, date=list(dates))))

    assert ids("2026-11-30") == {ue.pk}
    assert ids("2026-12") == {fbc.pk, crp.pk}
    assert ids("eq2026-12-01T09:00") == {fbc.pk}
    assert ids("ge2026-12-01T09:00:00Z") == {fbc.pk, crp.pk}
    assert ids("gt2026-12-01T09:00:00Z") == {crp.pk}
    assert ids("le2026-12-01T09:00:00Z") == {ue.pk, fbc.pk}
    assert ids("lt2026-12-01T09:00:00Z") == {ue.pk}
    assert ids("ge2026-12-01", "lt2026-12-02") == {fbc.pk}
    assert ids("gt2026-12-02T09:00:00Z") == set()


def test_search_by_identifier(three, admitted, nurse, settings):
    settings.EPR_ORGANISATION_ODS = "RXX"
    ue, fbc, crp = three
    client = signed_in(nurse)

    def ids(identifier: str) -> set[int]:
        return set(found_ids(search(client, patient=admitted.patient_id, identifier=identifier)))

    assert ids("https://fhir.rxx.nhs.uk/Id/placer-number|P2") == ids("P2") == {fbc.pk}
    assert ids(f"https://fhir.rxx.nhs.uk/Id/filler-number|{crp.filler_number}") == {crp.pk}
    assert ids(crp.filler_number) == {crp.pk}
    assert ids("P1,P3") == {ue.pk, crp.pk}
    assert ids(f"https://fhir.rxx.nhs.uk/Id/placer-number|{crp.filler_number}") == set()
    assert ids("https://fhir.rxx.nhs.uk/Id/filler-number|P2") == set()
    assert ids("http://example.org|P2") == ids("https://fhir.rxx.nhs.uk/Id/placer-number|") == set()


def test_search_pages_follow_next_links(admitted, nurse):
    reports = [receive(admitted.patient, "CRP", taken_at=TAKEN.replace(hour=h)) for h in range(8, 13)]
    client = signed_in(nurse)

    pages = [search(client, patient=admitted.patient_id, _count=2)]
    while next_link := {link["relation"]: link["url"] for link in pages[-1]["link"]}.get("next"):
        pages.append(body_of(client.get(path_of(next_link)), "Bundle"))

    assert [found_ids(page) for page in pages] == [
        [reports[4].pk, reports[3].pk],
        [reports[2].pk, reports[1].pk],
        [reports[0].pk],
    ]
    assert {page["total"] for page in pages} == {5}
    assert found_ids(search(client, patient=admitted.patient_id, _count=2, _offset=4)) == [reports[0].pk]
    assert found_ids(search(client, patient=admitted.patient_id, _offset=5)) == []


@pytest.mark.parametrize(
    "params",
    [
        {"result": "x"},
        {"_include": "DiagnosticReport:result"},
        {"subject:Patient.name": "Smith"},
        {"date": "yesterday"},
        {"_count": "0"},
        {"_offset": "-1"},
        {"_sort": "code"},
        {"patient": "Group/1"},
    ],
)
def test_bad_searches_are_400(admitted, nurse, params):
    response = signed_in(nurse).get("/fhir/DiagnosticReport", {"patient": admitted.patient_id, **params})
    assert_outcome(response, 400)


def test_staff_must_search_one_patient(report, nurse):
    assert_outcome(signed_in(nurse).get("/fhir/DiagnosticReport", {"status": "final"}), 400, "required")


def test_search_for_an_unknown_patient_is_404(nurse):
    assert_outcome(signed_in(nurse).get("/fhir/DiagnosticReport", {"patient": 999999}), 404, "not-found")


# --- Who may read ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["nurse", "doctor", "colleague"])
def test_staff_with_a_care_relationship_read_and_search(report, admitted, request, who):
    user = request.getfixturevalue(who)  # the ward's nurse and HCA, the consultant's team's doctor
    client = signed_in(user)

    read(client, report.pk)
    assert search(client, patient=admitted.patient_id)["total"] == 1

    events = AuditEvent.objects.filter(user_id=user.pk, channel="api").order_by("id")
    assert [(e.action, e.patient_id) for e in events] == [
        (Action.VIEW, admitted.patient_id),
        (Action.SEARCH, admitted.patient_id),
    ]


def test_an_outsider_is_refused_as_records_refuses_and_audited(report, admitted, outsider):
    client = signed_in(outsider)

    read_refusal = assert_outcome(client.get(f"/fhir/DiagnosticReport/{report.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/DiagnosticReport", {"patient": admitted.patient_id}), 403, "forbidden")

    assert "no care relationship" in read_refusal["issue"][0]["diagnostics"]
    denied = AuditEvent.objects.filter(user_id=outsider.pk, action=Action.DENIED)
    assert [e.patient_id for e in denied] == [admitted.patient_id] * 2
    assert not AuditEvent.objects.filter(user_id=outsider.pk).exclude(action=Action.DENIED).exists()


def test_break_glass_taken_in_the_record_pages_opens_the_results_and_is_audited(report, admitted, outsider):
    records.break_glass_start(user=outsider, patient=admitted.patient, reason="Called to a cardiac arrest")
    client = signed_in(outsider)

    read(client, report.pk)
    assert found_ids(search(client, patient=admitted.patient_id)) == [report.pk]

    events = AuditEvent.objects.filter(user_id=outsider.pk, channel="api").order_by("id")
    assert [(e.action, e.patient_id, e.break_glass_reason) for e in events] == [
        (Action.VIEW, admitted.patient_id, "Called to a cardiac arrest"),
        (Action.SEARCH, admitted.patient_id, "Called to a cardiac arrest"),
    ]


def test_a_role_that_does_not_see_results_is_refused_and_audited(report, admitted, nurse):
    # Alice on the ward opens the record, but here her role is not given the results permission.
    seen = Permission.objects.get(content_type__app_label="orders", codename="view_resultreport")
    for group in nurse.groups.all():
        group.permissions.remove(seen)
    client = signed_in(nurse)
    assert not User.objects.get(pk=nurse.pk).has_perm("orders.view_resultreport")

    body = assert_outcome(client.get(f"/fhir/DiagnosticReport/{report.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/DiagnosticReport", {"patient": admitted.patient_id}), 403, "forbidden")

    assert body["issue"][0]["diagnostics"] == "Your role does not see results."
    denied = AuditEvent.objects.filter(user_id=nurse.pk, action=Action.DENIED)
    assert [e.patient_id for e in denied] == [admitted.patient_id] * 2


def test_no_credentials_is_401(client, report):
    assert_outcome(client.get(f"/fhir/DiagnosticReport/{report.pk}"), 401)
    assert_outcome(client.get("/fhir/DiagnosticReport"), 401)


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["system/*.read"], 200),
        (["system/DiagnosticReport.read"], 200),
        (["system/Observation.read", "system/DiagnosticReport.write", "system/*.write"], 403),
    ],
)
def test_system_clients_need_the_read_scope(client, report, scopes, status):
    api = token_client(client, "Warehouse", scopes)

    assert api.get(f"/fhir/DiagnosticReport/{report.pk}").status_code == status
    assert api.get("/fhir/DiagnosticReport").status_code == status
    if status == 403:
        assert_outcome(api.get(f"/fhir/DiagnosticReport/{report.pk}"), 403)
        assert not AuditEvent.objects.filter(api_client="Warehouse", action=Action.VIEW).exists()
    else:
        assert AuditEvent.objects.filter(
            api_client="Warehouse", action=Action.VIEW, patient_id=report.patient_id
        ).exists()


def test_a_system_client_searches_across_patients_audited_per_patient(client, report, admitted):
    other = receive(PatientFactory(), "CRP")
    api = token_client(client, "Warehouse", ["system/DiagnosticReport.read"])

    bundle = search(api, category="LAB")

    assert set(found_ids(bundle)) == {report.pk, other.pk}
    events = AuditEvent.objects.filter(api_client="Warehouse", action=Action.SEARCH)
    assert {(e.patient_id, e.user_id, tuple(e.detail["diagnostic_reports"])) for e in events} == {
        (report.patient_id, None, (str(report.pk),)),
        (other.patient_id, None, (str(other.pk),)),
    }
    assert found_ids(search(api, code="nothing-like-this")) == []
    assert AuditEvent.objects.filter(api_client="Warehouse", action=Action.SEARCH).count() == 2


# --- Query counts ---------------------------------------------------------------------------------


def _queries(client: Client, params: dict[str, Any]) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        bundle = search(client, **params)
    return len(captured.captured_queries), bundle["total"]


@pytest.mark.parametrize("caller", ["staff", "system"])
def test_search_queries_do_not_grow_with_the_reports(client, admitted, nurse, caller):
    patient = admitted.patient
    api = signed_in(nurse) if caller == "staff" else token_client(client, "Feed", ["system/*.read"])
    params = {"patient": patient.pk, "_count": 100}
    for panel in ("U&E", "FBC"):
        receive(patient, panel)
    _queries(api, params)  # a bearer token is looked up once, then remembered
    few = _queries(api, params)
    for n in range(10):
        receive(patient, ["U&E", "FBC", "CRP"][n % 3], edit=with_notes if n % 2 else None)
    many = _queries(api, params)

    assert (few[1], many[1]) == (2, 12)
    assert few[0] == many[0]
