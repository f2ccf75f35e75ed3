"""FHIR R4 DiagnosticReport (UK Core shape) from the laboratory results filed to a patient: its
capability, its search, and the report with its values as contained Observations (a report sent to
the EPR as FHIR is read in by reports_in.py).

The id is the ResultReport's row id. Only reports filed to a patient (to an order, or unsolicited) are
served: one waiting in the unmatched queue, or rejected from it, is no one's and is never sent. Each
value (an HL7 v2 OBX) is an Observation contained in its report, `#obs-<row id>`: records' Observation
endpoint is the vital signs', and a laboratory value is read as part of the report it came in. Each
search page is a constant number of queries, however many reports and values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from epr.fhir.errors import invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, codeable_concept, instant, reference_id
from epr.fhir.search import SearchPage
from orders.models import Filing, ResultObservation, ResultReport
from records.fhir.clinical_search import NOTHING, ClinicalSearch, SearchSpec
from records.fhir.common import DEFAULT_COUNT, MAX_COUNT

REPORT_PROFILE = f"{UK_CORE}UKCore-DiagnosticReport"
OBSERVATION_PROFILE = f"{UK_CORE}UKCore-Observation"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
HL7_LOINC = "LN"  # OBR-4.3 / OBX-3.3 for a LOINC code
HL7_SNOMED = "SCT"  # the same for SNOMED CT (HL7 v2 table 0396)
REPORT_STATUS = "http://hl7.org/fhir/diagnostic-report-status"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
LAB = "LAB"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
FILED = (Filing.FILED, Filing.UNSOLICITED)

# OBR-25 and OBX-11 (HL7 v2 tables 0123 and 0085) as FHIR statuses; any other is "registered".
REPORT_STATUSES = {"F": "final", "C": "corrected", "P": "preliminary", "X": "cancelled"}
OBSERVATION_STATUSES = {**REPORT_STATUSES, "D": "entered-in-error", "W": "entered-in-error"}
REGISTERED = "registered"

# OBX-8 abnormal flags (HL7 v2 table 0078) as v3 ObservationInterpretation codes; another flag goes
# as words only.
INTERPRETATIONS = {
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critical abnormal",
    "H": "High",
    "HH": "Critical high",
    "HU": "Significantly high",
    "L": "Low",
    "LL": "Critical low",
    "LU": "Significantly low",
    ">": "Off scale high",
    "<": "Off scale low",
    "S": "Susceptible",
    "R": "Resistant",
    "I": "Intermediate",
    "POS": "Positive",
    "NEG": "Negative",
}
COMPARATORS = frozenset({"<", "<=", ">=", ">"})
_NUMBER = r"-?\d+(?:\.\d+)?"
_BETWEEN = re.compile(rf"^\s*({_NUMBER})\s*-\s*({_NUMBER})\s*$")
_ONE_SIDED = re.compile(rf"^\s*(<=|>=|<|>)\s*({_NUMBER})\s*$")


def trust_system(name: str) -> str:
    """One of the trust's own systems, as prescribing's local-medicine system is built."""
    return f"https://fhir.{settings.EPR_ORGANISATION_ODS.lower()}.nhs.uk/Id/{name}"


def lab_code_system() -> str:
    """The laboratory's own test codes (not LOINC)."""
    return trust_system("lab-code")


def placer_number_system() -> str:
    """The order number the requester gave (OBR-2): our orders' numbers, one system everywhere."""
    system: str = settings.EPR_ORDER_NUMBER_SYSTEM
    return system


def filler_number_system() -> str:
    """The laboratory's number for the specimen or report (OBR-3)."""
    return trust_system("filler-number")


REPORT_CAPABILITY = Capability(
    profile=REPORT_PROFILE,
    interactions=("read", "search-type", "create"),
    search_params=(
        SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff"),
        SearchParam("status", "token", "final, corrected, preliminary, cancelled or registered"),
        SearchParam("category", "token", f"{REPORT_CATEGORY}|{LAB} (every report is a laboratory's)"),
        SearchParam(
            "code",
            "token",
            f"The test or panel: a LOINC code as {LOINC}|<code>, a laboratory code as "
            f"{lab_code_system()}|<code>, or a code alone",
        ),
        SearchParam(
            "date", "date", "When the specimen was taken, with ge, le, gt, lt or eq; repeat for a range"
        ),
        SearchParam(
            "identifier",
            "token",
            f"The order number as {placer_number_system()}|<number>, the laboratory number as "
            f"{filler_number_system()}|<number>, or a number alone",
        ),
        SearchParam("based-on", "reference", "The order the report answers: ServiceRequest/<id> or <id>"),
        SearchParam("_sort", "string", "-date (most recently taken first, the default) or date"),
        SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
        SearchParam("_offset", "number", "Index of the first result on the page"),
    ),
)


# --- Values ---------------------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    """A decimal as FHIR JSON writes it: 139, not 139.000000."""
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _code(code: str, code_system: str, name: str) -> dict[str, Any]:
    system = {HL7_LOINC: LOINC, HL7_SNOMED: SNOMED}.get(code_system) or lab_code_system()
    return codeable_concept((system, code, name), text=name) if code else {"text": name}


def _simple(value: str, unit: str) -> dict[str, Any]:
    return {"value": _number(Decimal(value)), "unit": unit or None}


def reference_range(text: str, unit: str) -> list[dict[str, Any]]:
    """The range as sent: low and high when it is "3.5-5.3"; a one-sided range (">90") gives its one
    bound and keeps its words, as the bound's side (strictly above or not) is not in low or high."""
    if not text.strip():
        return []
    if between := _BETWEEN.match(text):
        return [{"low": _simple(between[1], unit), "high": _simple(between[2], unit)}]
    if one_sided := _ONE_SIDED.match(text):
        side = "low" if one_sided[1].startswith(">") else "high"
        return [{side: _simple(one_sided[2], unit), "text": text.strip()}]
    return [{"text": text.strip()}]


def interpretation(flag: str) -> list[dict[str, Any]]:
    if not flag:
        return []
    display = INTERPRETATIONS.get(flag.upper())
    if display is None:
        return [{"text": flag}]
    return [codeable_concept((INTERPRETATION, flag.upper(), display))]


def _value(o: ResultObservation) -> dict[str, Any]:
    if o.value_number is not None:
        quantity = {
            "value": _number(o.value_number),
            "comparator": o.comparator if o.comparator in COMPARATORS else None,
            "unit": o.unit or None,
        }
        return {"valueQuantity": quantity}
    text = f"{o.comparator}{o.value_text}".strip()
    return {"valueString": text} if text else {}


def contained_id(o: ResultObservation) -> str:
    return f"obs-{o.pk}"


def observation_entry(o: ResultObservation, patient_id: int | None) -> dict[str, Any]:
    """One value as an Observation contained in its DiagnosticReport."""
    return {
        "resourceType": "Observation",
        "id": contained_id(o),
        "meta": {"profile": [OBSERVATION_PROFILE]},
        "status": OBSERVATION_STATUSES.get(o.status.upper(), REGISTERED),
        "category": [codeable_concept((OBSERVATION_CATEGORY, "laboratory", "Laboratory"))],
        "code": _code(o.code, o.code_system, o.name),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": instant(timezone.localtime(o.observed_at)) if o.observed_at else None,
        **_value(o),
        "interpretation": interpretation(o.flag),
        "referenceRange": reference_range(o.reference_range, o.unit),
        "note": [{"text": o.notes}] if o.notes else None,
    }


# --- DiagnosticReport -----------------------------------------------------------------------------


def _identifiers(r: ResultReport) -> list[dict[str, Any]]:
    """The order (placer) number and the laboratory's (filler) number, those the report has."""
    numbers = [
        (placer_number_system(), "PLAC", "Placer Identifier", r.placer_number),
        (filler_number_system(), "FILL", "Filler Identifier", r.filler_number),
    ]
    return [
        {"type": codeable_concept((IDENTIFIER_TYPE, code, display)), "system": system, "value": value}
        for system, code, display, value in numbers
        if value
    ]


def report_entry(r: ResultReport) -> dict[str, Any]:
    """The DiagnosticReport with its values contained, unvalidated: for a Bundle validated as a whole.
    Only a report filed to a patient is sent (reports())."""
    values = list(r.observations.all())
    return {
        "resourceType": "DiagnosticReport",
        "id": str(r.pk),
        "meta": {"profile": [REPORT_PROFILE]},
        "contained": [observation_entry(o, r.patient_id) for o in values],
        "identifier": _identifiers(r),
        "status": REPORT_STATUSES.get(r.status.upper(), REGISTERED),
        "category": [codeable_concept((REPORT_CATEGORY, LAB, "Laboratory"))],
        "code": _code(r.code, r.code_system, r.name),
        "basedOn": [{"reference": f"ServiceRequest/{r.order_id}"}] if r.order_id else None,
        "subject": {"reference": f"Patient/{r.patient_id}"},
        "effectiveDateTime": instant(timezone.localtime(r.observed_at)) if r.observed_at else None,
        "issued": instant(timezone.localtime(r.issued_at)) if r.issued_at else None,
        "result": [{"reference": f"#{contained_id(o)}", "display": o.name} for o in values],
        "conclusion": r.notes or None,
    }


def reports() -> QuerySet[ResultReport]:
    """Every report filed to a patient, with its values (one more query for a whole page)."""
    return ResultReport.objects.filter(filing__in=FILED, patient__isnull=False).prefetch_related(
        Prefetch("observations", queryset=ResultObservation.objects.order_by("pk"))
    )


# --- Search ---------------------------------------------------------------------------------------


def _status_q(code: str) -> Q:
    statuses = [hl7 for hl7, fhir in REPORT_STATUSES.items() if fhir == code]
    if statuses:
        return Q(status__in=statuses)
    return ~Q(status__in=list(REPORT_STATUSES)) if code == REGISTERED else NOTHING


def _code_q(token: str) -> Q:
    """A LOINC or laboratory code: the whole token, as the system decides which."""
    system, bar, code = token.partition("|")
    if not bar:
        system, code = "", token
    if not code:
        return NOTHING
    by_system = {
        LOINC: Q(code=code, code_system=HL7_LOINC),
        SNOMED: Q(code=code, code_system=HL7_SNOMED),
        lab_code_system(): Q(code=code) & ~Q(code_system__in=[HL7_LOINC, HL7_SNOMED]),
        "": Q(code=code),
    }
    return by_system.get(system, NOTHING)


def _identifier_q(token: str) -> Q:
    system, bar, value = token.partition("|")
    if not bar:
        system, value = "", token
    if not value:
        return NOTHING
    by_system = {
        placer_number_system(): Q(placer_number=value),
        filler_number_system(): Q(filler_number=value),
        "": Q(placer_number=value) | Q(filler_number=value),
    }
    return by_system.get(system, NOTHING)


def _based_on_q(reference: str) -> Q:
    order_id = reference_id(reference, "ServiceRequest", bare_id=True)
    if order_id is None:
        raise invalid_value("based-on must be ServiceRequest/<id> or <id>.", "based-on")
    return Q(order_id=order_id)


REPORT_SEARCH = SearchSpec(
    resource_type="DiagnosticReport",
    tokens={
        "status": (REPORT_STATUS, _status_q),
        "category": (REPORT_CATEGORY, lambda code: Q() if code == LAB else NOTHING),
        "code": (None, _code_q),
        "identifier": (None, _identifier_q),
        "based-on": (None, _based_on_q),
    },
    instants={"date": "observed_at"},
)


def report_page(search: ClinicalSearch) -> SearchPage[ResultReport]:
    """One page of the matching reports, by when taken, in three queries (a count, the page, its
    values)."""
    matching = reports().filter(search.where)
    if search.patient_id is not None:
        matching = matching.filter(patient_id=search.patient_id)
    total = matching.count()
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    taken = F("observed_at")
    order = (
        (taken.desc(nulls_last=True), "-pk") if search.newest_first else (taken.asc(nulls_first=True), "pk")
    )
    window = matching.order_by(*order)[search.offset : search.offset + search.count]
    return SearchPage(total=total, items=list(window))


def found(rows: Iterable[ResultReport]) -> list[tuple[int, str]]:
    """(patient id, resource id) of each report, for the search's audit rows."""
    return [(row.patient_id, str(row.pk)) for row in rows if row.patient_id is not None]
