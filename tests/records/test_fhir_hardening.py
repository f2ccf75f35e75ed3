"""Every bad request under /fhir gets a 4xx OperationOutcome, never a 500 or an HTML page; one search
cannot cost many seconds (issue 7, items 4, 8 and 15)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from epr.fhir import middleware
from epr.fhir import search as fhir_search
from epr.fhir.errors import FHIRError
from records import services
from records.errors import RecordError
from records.fhir import observation_codes, observation_search
from records.fhir.common import refusal
from records.models import ObservationSet
from records.rules.news2 import VitalSignsError
from tests.records.support import new_patient_resource
from tests.support import assert_outcome, signed_in, token_client

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
ALL_SCOPES = [
    f"system/{kind}.{mode}"
    for kind in ("Patient", "Observation", "AllergyIntolerance", "Condition")
    for mode in ("read", "write")
]


@pytest.fixture
def system(client) -> Client:
    """A feed that may read and write every resource type."""
    return token_client(client, "Feed", ALL_SCOPES)


def send(client: Client, method: str, url: str, body: Any, content_type: str = FHIR_JSON):
    if method == "get":
        return client.get(url)
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(url, payload, content_type=content_type)


@pytest.fixture
def writers(system, nurse, doctor, patient) -> list[tuple[Client, str, str]]:
    """(client, method, url) of every FHIR write endpoint. Allergies and problems need a recorder."""
    return [
        (system, "post", "/fhir/"),
        (system, "post", "/fhir/Patient"),
        (system, "put", f"/fhir/Patient/{patient.pk}"),
        (system, "post", "/fhir/Observation"),
        (signed_in(nurse), "post", "/fhir/AllergyIntolerance"),
        (signed_in(doctor), "post", "/fhir/Condition"),
    ]


def as_resource_for(url: str, body: dict[str, Any], patient_id: int) -> dict[str, Any]:
    """The body, typed for the endpoint: a Bundle for the base URL, else that URL's resource type."""
    kind = url.removeprefix("/fhir/").split("/")[0] or "Bundle"
    resource = {**body, "resourceType": kind}
    if url.endswith(f"/{patient_id}"):
        resource["id"] = str(patient_id)
    return resource


# --- 4. Malformed nested resources and primitive extensions ---------------------------------------


@pytest.mark.parametrize(
    ("body", "element"),
    [
        ({"contained": [{"resourceType": 5}]}, "contained[0].resourceType"),
        ({"contained": [{"resourceType": "Nope"}]}, "contained[0].resourceType"),
        ({"contained": [{"resourceType": None}]}, "contained[0].resourceType"),
        ({"_gender": "1"}, "_gender"),
        ({"_status": 7}, "_status"),
        ({"_id": ["x"]}, "_id"),
    ],
)
def test_every_write_endpoint_refuses_a_malformed_nested_element_with_400(writers, patient, body, element):
    for client, method, url in writers:
        resource = as_resource_for(url, body, patient.pk)

        response = send(client, method, url, resource)

        outcome = assert_outcome(response, 400, "structure")
        assert outcome["issue"][0]["expression"] == [f"{resource['resourceType']}.{element}"], url


@pytest.mark.parametrize("resource_type", [5, "Nope", None, "HumanName", ["Patient"]])
def test_a_transaction_entry_whose_resource_type_is_not_a_resource_is_400(system, resource_type):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {"resourceType": resource_type}, "request": {"method": "POST", "url": "Patient"}}
        ],
    }

    outcome = assert_outcome(send(system, "post", "/fhir/", bundle), 400, "structure")

    assert outcome["issue"][0]["expression"] == ["Bundle.entry[0].resource.resourceType"]


def test_a_transaction_of_too_many_entries_is_refused_before_any_is_recorded(system):
    entry = {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry] * 101}

    outcome = assert_outcome(send(system, "post", "/fhir/", bundle), 400, "too-costly")

    assert outcome["issue"][0]["expression"] == ["Bundle.entry"]
    assert "at most 100" in outcome["issue"][0]["diagnostics"]


def test_a_valid_primitive_extension_is_still_accepted(system):
    resource = new_patient_resource(
        _gender={"extension": [{"url": "https://example.org/x", "valueString": "y"}]}
    )

    assert send(system, "post", "/fhir/Patient", resource).status_code == 201


# --- 15. Every error under /fhir is an OperationOutcome -------------------------------------------


def test_a_body_over_the_size_limit_is_a_413_outcome(system, nurse, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, as in production
    big = json.dumps(new_patient_resource(text={"status": "generated", "div": "a" * 3_000_000}))

    for client, url in [(system, "/fhir/Patient"), (signed_in(nurse), "/fhir/Patient"), (system, "/fhir")]:
        outcome = assert_outcome(send(client, "post", url, big), 413, "too-costly")
        assert "2,621,440 bytes" in outcome["issue"][0]["diagnostics"]


def test_a_form_body_too_large_or_with_too_many_fields_is_an_outcome(system, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    assert_outcome(system.post("/fhir/Patient", {"a": "b" * 3_000_000}), 413, "too-costly")
    # Read (and refused) by a middleware before any FHIR view: Django's page was HTML.
    assert_outcome(system.post("/fhir/Patient", {f"f{n}": "x" for n in range(20)}), 400)


def test_an_unsupported_media_type_is_a_415_outcome(system):
    outcome = assert_outcome(
        send(system, "post", "/fhir/Patient", "<Patient/>", content_type="application/xml"), 415
    )

    assert outcome["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("method", "url"),
    [("delete", "/fhir/Patient/1"), ("patch", "/fhir/Patient"), ("get", "/fhir"), ("put", "/fhir/metadata")],
)
def test_a_method_not_allowed_is_a_405_outcome_with_allow(system, method, url):
    response = send(system, method, url, "{}")

    assert_outcome(response, 405, "not-supported")
    assert response["Allow"]


def test_an_html_error_from_outside_the_api_becomes_an_outcome(system, monkeypatch):
    # However a response arrives, an error under /fhir is never an HTML page.

    html = middleware.HttpResponse("<html>refused</html>", status=403, content_type="text/html")

    response = middleware.FHIRErrorMiddleware(lambda r: html)(_request("/fhir/Patient"))

    assert response.status_code == 403
    assert response["Content-Type"] == FHIR_JSON
    assert json.loads(response.content)["issue"][0]["code"] == "forbidden"
    page = middleware.FHIRErrorMiddleware(lambda r: html)(_request("/patients/"))
    assert page is html


def _request(path: str):

    return RequestFactory().get(path)


def test_an_unexpected_fault_is_a_500_outcome_without_a_stack_trace(system, settings, monkeypatch):
    settings.DEBUG = True  # as under `make run`: Django's technical page would show a stack trace

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret local detail")

    monkeypatch.setattr(observation_search, "parse_search", broken)
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=system.defaults["HTTP_AUTHORIZATION"])

    response = client.get("/fhir/Observation", {"patient": "1"})

    outcome = assert_outcome(response, 500, "exception")
    assert "secret" not in response.content.decode()
    assert "logged" in outcome["issue"][0]["diagnostics"]


# --- 8. Searches are bounded ----------------------------------------------------------------------


def test_thousands_of_values_for_one_parameter_are_refused_quickly(admitted, nurse):
    started = time.monotonic()

    response = signed_in(nurse).get(
        "/fhir/Observation", {"patient": admitted.patient.pk, "category": ",".join(["vital-signs"] * 2000)}
    )

    outcome = assert_outcome(response, 400, "too-costly")
    issue = outcome["issue"][0]
    assert issue["expression"] == ["category"]
    assert "category has 2,000 values" in issue["diagnostics"]
    assert f"at most {fhir_search.MAX_VALUES}" in issue["diagnostics"]
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "url", ["/fhir/Patient", "/fhir/Observation", "/fhir/AllergyIntolerance", "/fhir/Condition"]
)
def test_every_search_caps_values_per_parameter_and_parameters_per_request(system, patient, url):
    repeated = QueryDict(mutable=True)
    repeated.setlist("date", ["ge2020-01-01"] * (fhir_search.MAX_VALUES + 1))
    many = QueryDict(mutable=True)
    many.setlist("_sort", ["-date"] * (fhir_search.MAX_PARAMETERS + 1))

    by_repeats = assert_outcome(system.get(f"{url}?{repeated.urlencode()}"), 400, "too-costly")
    by_count = assert_outcome(system.get(f"{url}?{many.urlencode()}"), 400, "too-costly")

    assert by_repeats["issue"][0]["expression"] == ["date"]
    assert f"at most {fhir_search.MAX_PARAMETERS}" in by_count["issue"][0]["diagnostics"]


def test_repeated_values_are_searched_once(admitted, nurse):
    patient_id = admitted.patient.pk
    twice = "category=vital-signs,survey,vital-signs"
    query = f"patient={patient_id}&{twice}&{twice}"

    response = signed_in(nurse).get(f"/fhir/Observation?{query}")

    assert response.status_code == 200, response.content
    self_link = next(link["url"] for link in response.json()["link"] if link["relation"] == "self")
    assert self_link.count("category=") == 1
    assert "category=vital-signs%2Csurvey&" in self_link


def test_bounded_query_keeps_order_and_drops_only_repeats():
    query = QueryDict("code=a,b,a&code=a,b,a&code=c&date=ge2020&date=le2021")

    bounded = fhir_search.bounded_query(query)

    assert bounded.getlist("code") == ["a,b", "c"]
    assert bounded.getlist("date") == ["ge2020", "le2021"]
    with pytest.raises(FHIRError):
        fhir_search.bounded_query(QueryDict("code=" + ",".join("x" * 21)))


def test_a_query_running_past_the_statement_timeout_is_stopped(admitted, nurse, settings, monkeypatch):
    settings.FHIR_STATEMENT_TIMEOUT_MS = 100
    real_search = observation_search.search_page

    def slow_search(search: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")  # a search the database takes too long over
        return real_search(search)

    monkeypatch.setattr(observation_search, "search_page", slow_search)
    started = time.monotonic()

    response = signed_in(nurse).get("/fhir/Observation", {"patient": admitted.patient.pk})

    assert_outcome(response, 503, "too-costly")
    assert response["Retry-After"]
    assert time.monotonic() - started < 1.5
    with connection.cursor() as cursor:  # the timeout was the request's own, gone with its transaction
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] != "100ms"


# --- Fuzz: no body or query string makes any endpoint fail --------------------------------------

_KEYS = st.sampled_from(
    [
        "resourceType",
        "id",
        "meta",
        "contained",
        "_gender",
        "gender",
        "birthDate",
        "_birthDate",
        "name",
        "identifier",
        "entry",
        "resource",
        "request",
        "method",
        "url",
        "type",
        "status",
        "code",
        "subject",
        "patient",
        "valueQuantity",
        "effectiveDateTime",
        "component",
        "extension",
        "valueString",
        "x",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["Patient", "Observation", "Bundle", "Nope", "POST", "Patient/1", "transaction", "final"]
    ),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=12,
)
_RESOURCE_TYPES = st.one_of(
    st.sampled_from([None, "Patient", "Observation", "Bundle", "Condition"]), _SCALARS
)
# FHIR-shaped bodies, where the bugs were: nested resources (contained, Bundle entries) of any
# resourceType, and primitive extensions (_gender) of any shape; and any JSON at all.
_NESTED = st.fixed_dictionaries(
    {"resourceType": _RESOURCE_TYPES},
    optional={"id": _SCALARS, "gender": _SCALARS, "_gender": _JSON, "status": _SCALARS, "x": _JSON},
)
_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "resource": _NESTED,
        "request": st.fixed_dictionaries(
            {},
            optional={
                "method": st.sampled_from(["POST", "PUT", "GET", 5]),
                "url": st.sampled_from(["Patient", "Observation", "Nope", None]),
            },
        ),
        "fullUrl": _SCALARS,
    },
)
_BODIES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "resourceType": _RESOURCE_TYPES,
            "type": st.sampled_from(["transaction", "batch", 3]),
            "entry": st.lists(_ENTRY, max_size=2),
            "contained": st.lists(_NESTED, max_size=2),
            "id": _SCALARS,
            "gender": _SCALARS,
            "_gender": _JSON,
            "birthDate": _SCALARS,
            "_birthDate": _JSON,
            "name": _JSON,
            "status": _SCALARS,
            "code": _JSON,
            "subject": _JSON,
            "meta": _JSON,
        },
    ),
    _JSON,
)

_FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays fast and a failure reproduces
    database=None,  # so nothing is written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_FUZZ
@given(body=_BODIES)
def test_fuzz_no_write_endpoint_fails_on_any_body(writers, patient, settings, body):
    settings.DEBUG = False
    for client, method, url in writers:
        sent = body
        # Mostly of the endpoint's type, or the body would be refused before it is read.
        if isinstance(body, dict) and isinstance(body.get("resourceType"), str | None):
            sent = as_resource_for(url, body, patient.pk)

        response = send(client, method, url, sent)

        assert response.status_code < 500, (url, sent, response.content)
        assert response["Content-Type"].startswith(FHIR_JSON)


_PARAMS = st.sampled_from(
    [
        "patient",
        "code",
        "category",
        "date",
        "identifier",
        "family",
        "given",
        "birthdate",
        "_count",
        "_offset",
        "_sort",
        "clinical-status",
        "verification-status",
        "onset-date",
        "recorded-date",
        "x",
    ]
)
_VALUES = st.one_of(
    st.text(alphabet="0123456789-:T+Z|,.abcegltvs/ ", max_size=20),
    st.text(max_size=8),
    st.sampled_from(["ge2025-01-01", "vital-signs", "http://loinc.org|8867-4", "Patient/1", "-date", "200"]),
)


@_FUZZ
@given(params=st.lists(st.tuples(_PARAMS, _VALUES), max_size=6))
def test_fuzz_no_search_fails_on_any_query(system, settings, params):
    settings.DEBUG = False
    query = QueryDict(mutable=True)
    for name, value in params:
        query.appendlist(name, value)
    for url in ("/fhir/Patient", "/fhir/Observation", "/fhir/AllergyIntolerance", "/fhir/Condition"):
        response = system.get(f"{url}?{query.urlencode()}")

        assert response.status_code < 500, (url, params, response.content)
        assert response["Content-Type"].startswith(FHIR_JSON)


# --- 18. Each Observation of a set has its own version, and If-Match uses it ----------------------


def _quantity(patient_id: int, loinc: str, value: int, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": observation_codes.CATEGORY_SYSTEM, "code": "vital-signs"}]},
        ],
        "code": {"coding": [{"system": observation_codes.LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2025-03-01T10:15:00+00:00",
        "valueQuantity": {"value": value, "system": observation_codes.UCUM, "code": unit},
    }


@pytest.fixture
def three_posted(admitted, nurse) -> tuple[Client, int]:
    """A respiration rate, then a heart rate, then a temperature posted into one set."""
    client, patient_id = signed_in(nurse), admitted.patient.pk
    for loinc, value, unit in [("9279-1", 18, "/min"), ("8867-4", 80, "/min"), ("8310-5", 37, "Cel")]:
        response = send(client, "post", "/fhir/Observation", _quantity(patient_id, loinc, value, unit))
        assert response.status_code in (200, 201), response.content
    return client, ObservationSet.objects.get().pk


def test_each_observation_of_a_set_reports_its_own_version(three_posted, nurse):
    client, set_id = three_posted

    for key in ("rr", "hr", "temp"):
        response = client.get(f"/fhir/Observation/{set_id}-{key}")
        assert response.status_code == 200, response.content
        assert response.json()["meta"]["versionId"] == "1", key
        assert response["ETag"] == 'W/"1"'
    bundle = client.get("/fhir/Observation", {"patient": ObservationSet.objects.get().patient_id}).json()
    assert {e["resource"]["meta"]["versionId"] for e in bundle["entry"]} == {"1"}


def test_marking_the_set_in_error_is_a_new_version_of_each_observation(three_posted, nurse):
    client, set_id = three_posted
    services.observation_set_mark_error(marked_by=nurse, obs=ObservationSet.objects.get(), reason="Wrong")

    for key in ("rr", "hr", "temp"):
        assert client.get(f"/fhir/Observation/{set_id}-{key}")["ETag"] == 'W/"2"', key


def test_if_match_and_if_none_match_use_the_observations_own_version(three_posted):
    client, set_id = three_posted
    url = f"/fhir/Observation/{set_id}-temp"

    assert client.get(url, HTTP_IF_MATCH='W/"1"').status_code == 200
    assert client.get(url, HTTP_IF_MATCH='W/"4", W/"1"').status_code == 200
    assert_outcome(client.get(url, HTTP_IF_MATCH='W/"3"'), 412, "conflict")
    assert client.get(url, HTTP_IF_NONE_MATCH='W/"1"').status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='W/"2"').status_code == 200


def test_a_patient_read_honours_if_match(system, patient):
    url = f"/fhir/Patient/{patient.pk}"
    etag = system.get(url)["ETag"]

    assert system.get(url, HTTP_IF_MATCH=etag).status_code == 200
    assert_outcome(system.get(url, HTTP_IF_MATCH='W/"999"'), 412, "conflict")
    assert system.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_refusal_becomes_one_operation_outcome_naming_the_elements():
    paths = {"pulse": "Observation.valueQuantity", "taken_at": "Observation.effectiveDateTime"}
    values = refusal(
        VitalSignsError({"taken_at": "In the future.", "pulse": "Too high."}), paths, resource="Observation"
    )
    assert (values.status_code, values.code, values.diagnostics) == (422, "value", "In the future. Too high.")
    assert values.expression == ["Observation.effectiveDateTime", "Observation.valueQuantity"]
    rule = refusal(RecordError("Archived.", field="status"), paths, resource="AllergyIntolerance")
    assert (rule.code, rule.expression) == ("business-rule", ["AllergyIntolerance"])
    unplaced = refusal(RecordError("Archived.", field="status"), paths, resource=None)
    assert unplaced.expression == [] and refusal(RecordError("No."), paths, resource="X").expression == []
