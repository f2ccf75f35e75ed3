"""FHIR R4 Observation (UK Core) for vital signs and NEWS2, to and from ObservationSet.

One ObservationSet row holds a whole set of vital signs; FHIR has one Observation per measurement. Each
set therefore shows as several Observations with stable ids "<set id>-<parameter>" ("812-rr",
"812-bp", "812-news2"...), one per parameter recorded in the set. The NEWS2 total is the server's own
Observation, derived from the parameter Observations; clients never post it.

Incoming Observations arrive parsed by `epr.fhir.resources.parse_resource`; here they become model
field values. Observations posted for one patient with the same effectiveDateTime build up ONE set
(source "fhir"), which is scored, and escalated, as soon as it holds every NEWS2 parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import add, or_
from typing import Any

from django.db.models import Case, F, IntegerField, Q, Sum, Value, When, Window
from django.db.models.expressions import RowRange
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from epr.fhir.errors import FHIRError, invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, Coding, codeable_concept, validated
from epr.fhir.search import SearchPage, instant_q
from records.fhir.common import (
    DEFAULT_COUNT,
    MAX_COUNT,
    RecordSearch,
    check_record_query,
    record_search_fields,
)
from records.models import ObservationSet, OxygenDevice
from records.rules import news2 as news2

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
VITAL_SIGNS = "vital-signs"
SURVEY = "survey"
CATEGORY_DISPLAY = {VITAL_SIGNS: "Vital Signs", SURVEY: "Survey"}
FHIR_SOURCE = "fhir"


@dataclass(frozen=True)
class Unit:
    code: str  # the UCUM code we send
    display: str
    accepted: frozenset[str]  # UCUM codes we take in (case matters in UCUM, so list each spelling)


@dataclass(frozen=True)
class Parameter:
    """One kind of Observation a set can show: its id suffix, profile, codes and unit."""

    key: str
    text: str
    profile: str
    category: str
    codings: tuple[Coding, ...]
    fields: tuple[str, ...]  # the model fields that hold it; it exists when any of them is recorded
    unit: Unit | None = None


# Units as CLINICAL.md section 12 gives them; any UCUM spelling of "per minute" is taken in.
PER_MINUTE = frozenset({"/min", "{Breaths}/min", "{breaths}/min", "{Beats}/min", "{beats}/min"})
BREATHS = Unit("{Breaths}/min", "breaths per minute", PER_MINUTE)
BEATS = Unit("{beats}/min", "beats per minute", PER_MINUTE)
PERCENT = Unit("%", "%", frozenset({"%"}))
LITRES_PER_MINUTE = Unit("l/min", "litre per minute", frozenset({"l/min", "L/min"}))
MM_HG = Unit("mm[Hg]", "mmHg", frozenset({"mm[Hg]"}))
CELSIUS = Unit("Cel", "degrees C", frozenset({"Cel"}))
KG = Unit("kg", "kg", frozenset({"kg"}))
CM = Unit("cm", "cm", frozenset({"cm"}))
SCORE = Unit("{ScoreOf}", "score", frozenset({"{ScoreOf}", "{score}"}))

RR = Parameter(
    "rr",
    "Respiration rate",
    f"{UK_CORE}UKCore-Observation-RespirationRate",
    VITAL_SIGNS,
    ((LOINC, "9279-1", "Respiratory rate"), (SNOMED, "86290005", "Respiratory rate")),
    ("respiration_rate",),
    BREATHS,
)
SPO2 = Parameter(
    "spo2",
    "Oxygen saturation",
    f"{UK_CORE}UKCore-Observation-OxygenSaturation",
    VITAL_SIGNS,
    (
        (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        (LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
        (SNOMED, "103228002", "Haemoglobin saturation with oxygen"),
    ),
    ("spo2",),
    PERCENT,
)
# Air or oxygen: the code itself says which (UK Core InspiredOxygen); the flow, if known, is the value.
ROOM_AIR: Coding = (SNOMED, "722742002", "Breathing room air")
ON_OXYGEN: Coding = (SNOMED, "371825009", "Patient on oxygen")
O2 = Parameter(
    "o2",
    "Air or oxygen",
    f"{UK_CORE}UKCore-Observation-InspiredOxygen",
    VITAL_SIGNS,
    (ROOM_AIR, ON_OXYGEN),
    ("on_oxygen",),
    LITRES_PER_MINUTE,
)
BP = Parameter(
    "bp",
    "Blood pressure",
    f"{UK_CORE}UKCore-Observation-BloodPressure",
    VITAL_SIGNS,
    (
        (LOINC, "85354-9", "Blood pressure panel with all children optional"),
        (SNOMED, "75367002", "Blood pressure"),
    ),
    ("systolic_bp", "diastolic_bp"),
    MM_HG,
)
SYSTOLIC: tuple[Coding, ...] = (
    (LOINC, "8480-6", "Systolic blood pressure"),
    (SNOMED, "72313002", "Systolic arterial pressure"),
)
DIASTOLIC: tuple[Coding, ...] = (
    (LOINC, "8462-4", "Diastolic blood pressure"),
    (SNOMED, "1091811000000102", "Diastolic arterial pressure"),
)
HR = Parameter(
    "hr",
    "Heart rate",
    f"{UK_CORE}UKCore-Observation-HeartRate",
    VITAL_SIGNS,
    ((LOINC, "8867-4", "Heart rate"), (SNOMED, "364075005", "Heart rate")),
    ("pulse",),
    BEATS,
)
ACVPU = Parameter(
    "acvpu",
    "Consciousness (ACVPU)",
    f"{UK_CORE}UKCore-Observation-ACVPU",
    SURVEY,
    ((SNOMED, "1104441000000107", "Alert Confusion Voice Pain Unresponsive scale score"),),
    ("consciousness",),
)
TEMP = Parameter(
    "temp",
    "Body temperature",
    f"{UK_CORE}UKCore-Observation-BodyTemperature",
    VITAL_SIGNS,
    ((LOINC, "8310-5", "Body temperature"), (SNOMED, "276885007", "Core body temperature")),
    ("temperature",),
    CELSIUS,
)
WEIGHT = Parameter(
    "weight",
    "Body weight",
    f"{UK_CORE}UKCore-Observation-BodyWeight",
    VITAL_SIGNS,
    ((LOINC, "29463-7", "Body weight"), (SNOMED, "27113001", "Body weight")),
    ("weight",),
    KG,
)
HEIGHT = Parameter(
    "height",
    "Body height",
    f"{UK_CORE}UKCore-Observation-BodyHeight",
    VITAL_SIGNS,
    ((LOINC, "8302-2", "Body height"), (SNOMED, "50373000", "Body height measure")),
    ("height",),
    CM,
)
NEWS2 = Parameter(
    "news2",
    "NEWS2 total score",
    f"{UK_CORE}UKCore-Observation-EarlyWarningTotalScore",
    SURVEY,
    (
        (
            SNOMED,
            "1104051000000101",
            "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
        ),
    ),
    ("news2_total",),
    SCORE,
)

# In NEWS2 chart order, then the other measurements, then the score: the order within a set everywhere.
PARAMETERS: dict[str, Parameter] = {
    p.key: p for p in (RR, SPO2, O2, BP, HR, ACVPU, TEMP, WEIGHT, HEIGHT, NEWS2)
}
NEWS2_INPUTS = ("rr", "spo2", "o2", "bp", "hr", "acvpu", "temp")

# The UK Core ACVPU value set, to and from the single letter the set stores.
ACVPU_CODES: dict[str, Coding] = {
    news2.Consciousness.ALERT: (SNOMED, "248234008", "Mentally alert"),
    news2.Consciousness.NEW_CONFUSION: (SNOMED, "130987000", "Acute confusion"),
    news2.Consciousness.VOICE: (SNOMED, "300202002", "Responds to voice"),
    news2.Consciousness.PAIN: (SNOMED, "450847001", "Responds to pain"),
    news2.Consciousness.UNRESPONSIVE: (SNOMED, "422768004", "Unresponsive"),
}

# NEWS2 sub-scores, as components of the total (SNOMED CT, as in NHS England's NEWS2 FHIR guidance).
_RCP = "Royal College of Physicians National Early Warning Score 2 -"
SUB_SCORES: dict[str, Coding] = {
    "respiration_rate": (SNOMED, "1104301000000104", f"{_RCP} respiration rate score"),
    "spo2": (SNOMED, "1104311000000102", f"{_RCP} oxygen saturation scale 1 score"),
    "on_oxygen": (SNOMED, "1104331000000105", f"{_RCP} air or oxygen score"),
    "systolic_bp": (SNOMED, "1104341000000101", f"{_RCP} systolic blood pressure score"),
    "pulse": (SNOMED, "1104351000000103", f"{_RCP} pulse score"),
    "consciousness": (SNOMED, "1104361000000100", f"{_RCP} consciousness score"),
    "temperature": (SNOMED, "1104371000000107", f"{_RCP} temperature score"),
}
SPO2_SCALE_2_SCORE: Coding = (SNOMED, "1104321000000108", f"{_RCP} oxygen saturation scale 2 score")

CAPABILITY = Capability(
    profile=f"{UK_CORE}UKCore-Observation",
    interactions=("read", "create", "search-type"),
    search_params=(
        SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff"),
        SearchParam(
            "code",
            "token",
            "LOINC or SNOMED CT code of a vital sign or the NEWS2 total, as system|code or code; "
            "comma for any of several. A systolic or diastolic code finds the blood pressure panel.",
        ),
        SearchParam("category", "token", "vital-signs or survey (ACVPU and the NEWS2 score)"),
        SearchParam("date", "date", "effectiveDateTime with ge, le, gt, lt or eq; repeat for a range"),
        SearchParam("_sort", "string", "-date (newest first, the default) or date"),
        SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
        SearchParam("_offset", "number", "Index of the first Observation on the page"),
    ),
)


# --- Ids ------------------------------------------------------------------------------------------

_ID = re.compile(r"^(\d{1,18})-([a-z0-9]+)$")


def resource_id(obs: ObservationSet, key: str) -> str:
    return f"{obs.pk}-{key}"


def parse_id(resource_id: str) -> tuple[int, str] | None:
    """(set id, parameter key) from "812-rr", or None when it cannot be one of ours."""
    match = _ID.match(resource_id)
    if match is None or match.group(2) not in PARAMETERS:
        return None
    return int(match.group(1)), match.group(2)


# --- Which parameters a set holds, in Python and in SQL -------------------------------------------


def _recorded(value: Any) -> bool:
    return value not in (None, "")


def holds(obs: ObservationSet, key: str) -> bool:
    return any(_recorded(getattr(obs, name)) for name in PARAMETERS[key].fields)


def _recorded_q(name: str) -> Q:
    # consciousness is a blank-able text column; the rest are nullable.
    if ObservationSet._meta.get_field(name).get_internal_type() == "CharField":
        return ~Q(**{name: ""})
    return Q(**{f"{name}__isnull": False})


def held_q(key: str) -> Q:
    return reduce(or_, (_recorded_q(name) for name in PARAMETERS[key].fields))


# --- ObservationSet -> FHIR -----------------------------------------------------------------------

SetVersion = tuple[int, datetime]  # one Observation's version (its changes so far), time of the latest


def _version_fields(key: str) -> tuple[str, ...]:
    """The set's columns one Observation shows: when none of them changes, its version stays."""
    fields = ("status", *PARAMETERS[key].fields)
    if key == "spo2":
        return (*fields, "spo2_scale")
    if key == "news2":  # the sub-scores and derivedFrom follow every input
        inputs = [name for k in NEWS2_INPUTS for name in PARAMETERS[k].fields]
        return (*fields, "news2_scores", "news2_risk", "spo2_scale", *inputs)
    return fields


_HISTORY_FIELDS = sorted({name for key in PARAMETERS for name in _version_fields(key)})


def resource_versions(set_ids: Iterable[int]) -> dict[tuple[int, str], SetVersion]:
    """The version and last change of each Observation of the sets, by (set id, parameter key), from
    the sets' history in one query for any number of sets.

    An Observation's version counts the history rows that changed what it shows, from the one that
    first recorded it: adding a heart rate to a set is a new version of neither the respiration rate
    nor the set's other Observations, and marking the set in error is a new version of each of them.
    """
    rows = (
        ObservationSet.history.filter(id__in=list(set_ids))
        .order_by("id", "history_date", "history_id")
        .values("id", "history_date", *_HISTORY_FIELDS)
    )
    versions: dict[tuple[int, str], SetVersion] = {}
    shown: dict[tuple[int, str], tuple[Any, ...]] = {}
    for row in rows:
        for key, param in PARAMETERS.items():
            at = (row["id"], key)
            if at not in versions and not any(_recorded(row[name]) for name in param.fields):
                continue  # not recorded yet: no Observation, so no version
            state = tuple(row[name] for name in _version_fields(key))
            if shown.get(at) != state:
                shown[at] = state
                versions[at] = (versions[at][0] + 1 if at in versions else 1, row["history_date"])
    return versions


def _quantity(value: Any, unit: Unit) -> dict[str, Any]:
    return {"value": value, "unit": unit.display, "system": UCUM, "code": unit.code}


def _base(obs: ObservationSet, param: Parameter, version: SetVersion | None) -> dict[str, Any]:
    performer = None
    if obs.recorded_by_id is not None:
        performer = [{"type": "Practitioner", "display": str(obs.recorded_by)}]
    return {
        "resourceType": "Observation",
        "id": resource_id(obs, param.key),
        "meta": {
            "versionId": str(version[0]) if version else None,
            "lastUpdated": version[1].isoformat() if version else None,
            "profile": [param.profile],
        },
        "status": obs.status,
        "category": [codeable_concept((CATEGORY_SYSTEM, param.category, CATEGORY_DISPLAY[param.category]))],
        "code": codeable_concept(*param.codings, text=param.text),
        "subject": {"reference": f"Patient/{obs.patient_id}"},
        "effectiveDateTime": timezone.localtime(obs.taken_at).isoformat(),
        "issued": obs.recorded_at.isoformat(),
        "performer": performer,
    }


def _simple_value(obs: ObservationSet, param: Parameter) -> dict[str, Any]:
    return {"valueQuantity": _quantity(getattr(obs, param.fields[0]), param.unit or SCORE)}


def _air_or_oxygen(obs: ObservationSet) -> dict[str, Any]:
    values: dict[str, Any] = {
        "code": codeable_concept(ON_OXYGEN if obs.on_oxygen else ROOM_AIR, text=O2.text)
    }
    if obs.on_oxygen and obs.oxygen_flow is not None:
        values["valueQuantity"] = _quantity(obs.oxygen_flow, LITRES_PER_MINUTE)
    if obs.on_oxygen and obs.oxygen_device:
        # No Device resource is kept for a mask or cannula: the reference carries its name only.
        values["device"] = {"display": OxygenDevice(obs.oxygen_device).label}
    return values


def _bp_component(codings: tuple[Coding, ...], value: int | None) -> dict[str, Any]:
    if value is None:
        # The profile needs both components; say plainly that one was not recorded.
        return {
            "code": codeable_concept(*codings),
            "dataAbsentReason": codeable_concept((DATA_ABSENT_SYSTEM, "unknown", "Unknown")),
        }
    return {"code": codeable_concept(*codings), "valueQuantity": _quantity(value, MM_HG)}


def _blood_pressure(obs: ObservationSet) -> dict[str, Any]:
    return {
        "component": [_bp_component(SYSTOLIC, obs.systolic_bp), _bp_component(DIASTOLIC, obs.diastolic_bp)]
    }


def _consciousness(obs: ObservationSet) -> dict[str, Any]:
    return {"valueCodeableConcept": codeable_concept(ACVPU_CODES[news2.Consciousness(obs.consciousness)])}


def _news2(obs: ObservationSet) -> dict[str, Any]:
    components = []
    for name, score in obs.news2_scores.items():
        coding = SPO2_SCALE_2_SCORE if name == "spo2" and obs.spo2_scale == 2 else SUB_SCORES.get(name)
        if coding is not None:
            components.append({"code": codeable_concept(coding), "valueQuantity": _quantity(score, SCORE)})
    return {
        "valueQuantity": _quantity(obs.news2_total, SCORE),
        "interpretation": [{"text": f"{obs.news2_risk.capitalize()} clinical risk"}]
        if obs.news2_risk
        else None,
        "derivedFrom": [
            {"reference": f"Observation/{resource_id(obs, key)}"} for key in NEWS2_INPUTS if holds(obs, key)
        ],
        "component": components,
    }


_VALUES = {
    "o2": _air_or_oxygen,
    "bp": _blood_pressure,
    "acvpu": _consciousness,
    "news2": _news2,
}


def observation_entry(obs: ObservationSet, key: str, version: SetVersion | None) -> dict[str, Any]:
    """One Observation of a set (which must hold it), unvalidated: for a Bundle validated as a whole."""
    param = PARAMETERS[key]
    shape = _VALUES.get(key)
    return {**_base(obs, param, version), **(shape(obs) if shape else _simple_value(obs, param))}


def observation_resource(obs: ObservationSet, key: str, version: SetVersion | None) -> dict[str, Any] | None:
    """The Observation "<set>-<key>" checked against the FHIR models, or None if the set lacks it."""
    if not holds(obs, key):
        return None
    return validated(observation_entry(obs, key, version))


# --- FHIR -> model values -------------------------------------------------------------------------

# What a posted Observation.code (or BP component code) can say, by (system, code).
_NEWS2_CODES = {(SNOMED, "1104051000000101"), (LOINC, "88330-6")} | {
    (s, c) for s, c, _ in SUB_SCORES.values()
}
_POSTED_KINDS: dict[tuple[str, str], str] = {
    **{(s, c): "rr" for s, c, _ in RR.codings},
    **{(s, c): "hr" for s, c, _ in HR.codings},
    (SNOMED, "78564009"): "hr",  # pulse rate
    **{(s, c): "spo2" for s, c, _ in SPO2.codings},
    ROOM_AIR[:2]: "air",
    ON_OXYGEN[:2]: "oxygen",
    **{(s, c): "bp" for s, c, _ in BP.codings},
    **{(s, c): "systolic" for s, c, _ in SYSTOLIC},
    **{(s, c): "diastolic" for s, c, _ in DIASTOLIC},
    **{(s, c): "acvpu" for s, c, _ in ACVPU.codings},
    **{(s, c): "temp" for s, c, _ in TEMP.codings},
    **{(s, c): "weight" for s, c, _ in WEIGHT.codings},
    **{(s, c): "height" for s, c, _ in HEIGHT.codings},
    **dict.fromkeys(_NEWS2_CODES, "news2"),
}
_KIND_PARAMETER = {"air": "o2", "oxygen": "o2", "systolic": "bp", "diastolic": "bp"}
_ACVPU_LETTERS = {code: letter for letter, (_, code, _) in ACVPU_CODES.items()}
_WHOLE_NUMBER_FIELDS = {"respiration_rate", "spo2", "systolic_bp", "diastolic_bp", "pulse"}
_TENTHS = Decimal("0.1")


@dataclass(frozen=True)
class ObservationInput:
    """A posted Observation as set values, with where in the resource each value came from."""

    key: str  # the Observation it becomes: "rr", "bp", ...
    subject: str  # Observation.subject.reference as sent
    taken_at: datetime
    values: dict[str, Any]
    paths: dict[str, str] = field(default_factory=dict)


def _kinds(concept: Any) -> set[str]:
    return {
        _POSTED_KINDS[(c.system, c.code)]
        for c in (getattr(concept, "coding", None) or [])
        if (c.system, c.code) in _POSTED_KINDS
    }


def _kind(resource: Any) -> str:
    kinds = _kinds(resource.code)
    if "news2" in kinds:
        raise invalid_value(
            "NEWS2 scores are computed by this server from the vital signs of the set: post the vital "
            "signs, and the score appears as Observation <set>-news2.",
            "Observation.code",
            status=422,
            code="business-rule",
        )
    if not kinds:
        raise invalid_value(
            "Observation.code is not a vital sign this server records. Use LOINC or SNOMED CT codes for "
            "respiration rate, SpO2, air or oxygen, blood pressure, heart rate, ACVPU, temperature, "
            "weight or height.",
            "Observation.code",
            status=422,
            code="not-supported",
        )
    if len(kinds) > 1:
        raise invalid_value("Observation.code names more than one vital sign.", "Observation.code")
    return kinds.pop()


def _taken_at(resource: Any) -> datetime:
    if resource.effectiveDateTime is None:
        raise invalid_value(
            "Give the time the observation was taken as effectiveDateTime.",
            "Observation.effectiveDateTime",
            code="required",
        )
    taken_at = resource.effectiveDateTime
    if not isinstance(taken_at, datetime):
        raise invalid_value(
            "effectiveDateTime must be a date and time with a time zone, e.g. 2025-01-31T14:05:00+00:00.",
            "Observation.effectiveDateTime",
        )
    try:
        return taken_at.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 is before the first moment UTC can hold
        raise invalid_value("effectiveDateTime is out of range.", "Observation.effectiveDateTime") from exc


def _number(quantity: Any, unit: Unit, path: str, *, required: bool = True) -> Decimal | None:
    if quantity is None or quantity.value is None:
        if required:
            raise invalid_value(f"Give the value as a Quantity in {unit.code}.", path, code="required")
        return None
    if quantity.comparator:
        raise invalid_value("Send a measured value, without a comparator.", f"{path}.comparator")
    if quantity.system not in (None, UCUM):
        raise invalid_value(f"The unit must be a UCUM code ({UCUM}).", f"{path}.system")
    sent = quantity.code or quantity.unit
    if sent not in unit.accepted:
        raise invalid_value(f"The unit must be {unit.code} (UCUM); got {sent!r}.", f"{path}.code")
    return Decimal(quantity.value)


def _field_value(name: str, number: Decimal, path: str) -> Any:
    # Range first: rounding 1e30 to one decimal place is itself an error.
    message = news2.range_error(name, number)
    if message:
        raise invalid_value(message, path, status=422)
    if name in _WHOLE_NUMBER_FIELDS:
        if number != number.to_integral_value():
            raise invalid_value("This value is recorded as a whole number.", path)
        return int(number)
    if name == "temperature":
        return news2.round_temperature(number)
    # The columns keep one decimal place: round here, half up, rather than let the database choose.
    return number.quantize(_TENTHS, rounding=ROUND_HALF_UP)


def _quantity_values(resource: Any, name: str, unit: Unit) -> tuple[dict[str, Any], dict[str, str]]:
    path = "Observation.valueQuantity"
    number = _number(resource.valueQuantity, unit, path)
    return {name: _field_value(name, number, path)}, {name: path}


def _component_kind(component: Any, index: int) -> str:
    kinds = _kinds(component.code) & {"systolic", "diastolic"}
    if len(kinds) != 1:
        raise invalid_value(
            "Blood pressure components must be systolic (LOINC 8480-6) or diastolic (LOINC 8462-4).",
            f"Observation.component[{index}].code",
            status=422,
            code="not-supported",
        )
    return kinds.pop()


def _bp_panel_values(resource: Any) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for index, component in enumerate(resource.component or []):
        name = f"{_component_kind(component, index)}_bp"
        path = f"Observation.component[{index}].valueQuantity"
        if name in values:
            raise invalid_value("Send each blood pressure component once.", f"Observation.component[{index}]")
        number = _number(component.valueQuantity, MM_HG, path, required=component.dataAbsentReason is None)
        values[name] = None if number is None else _field_value(name, number, path)
        paths[name] = path
    if not any(v is not None for v in values.values()):
        raise invalid_value(
            "A blood pressure panel needs a systolic or diastolic component with a value.",
            "Observation.component",
            code="required",
        )
    return {k: v for k, v in values.items() if v is not None}, paths


def _acvpu_values(resource: Any) -> tuple[dict[str, Any], dict[str, str]]:
    path = "Observation.valueCodeableConcept"
    concept = resource.valueCodeableConcept
    letters = {
        _ACVPU_LETTERS[c.code]
        for c in (getattr(concept, "coding", None) or [])
        if c.system == SNOMED and c.code in _ACVPU_LETTERS
    }
    if len(letters) != 1:
        raise invalid_value(
            "Consciousness must be one SNOMED CT code from the UK Core ACVPU value set: "
            + ", ".join(f"{code} {display}" for _, code, display in ACVPU_CODES.values())
            + ".",
            path,
        )
    return {"consciousness": letters.pop()}, {"consciousness": path}


def _oxygen_device(resource: Any) -> str:
    name = (resource.device.display or "").strip().lower() if resource.device else ""
    if not name:
        return ""
    for device in OxygenDevice:
        if name in (device.value, device.label.lower()):
            return device.value
    return OxygenDevice.OTHER.value


def _air_or_oxygen_values(resource: Any, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    path = "Observation.valueQuantity"
    values: dict[str, Any] = {"on_oxygen": kind == "oxygen"}
    paths = {"on_oxygen": "Observation.code", "oxygen_flow": path, "oxygen_device": "Observation.device"}
    flow = _number(resource.valueQuantity, LITRES_PER_MINUTE, path, required=False)
    if flow is not None:
        values["oxygen_flow"] = _field_value("oxygen_flow", flow, path)
    if kind == "oxygen":
        values["oxygen_device"] = _oxygen_device(resource)
    return values, paths


_QUANTITY_FIELDS = {
    "rr": ("respiration_rate", BREATHS),
    "hr": ("pulse", BEATS),
    "spo2": ("spo2", PERCENT),
    "systolic": ("systolic_bp", MM_HG),
    "diastolic": ("diastolic_bp", MM_HG),
    "temp": ("temperature", CELSIUS),
    "weight": ("weight", KG),
    "height": ("height", CM),
}


def observation_from_resource(resource: Any) -> ObservationInput:
    """Set values from a parsed vital-sign Observation; 400/422 FHIRError naming the element otherwise."""
    if resource.status != "final":
        raise invalid_value(
            "Only final observations are recorded.", "Observation.status", status=422, code="not-supported"
        )
    kind = _kind(resource)
    subject = resource.subject.reference if resource.subject and resource.subject.reference else ""
    if not subject:
        raise invalid_value(
            "Say whose observation this is: subject Patient/<id>.", "Observation.subject", code="required"
        )
    taken_at = _taken_at(resource)
    if kind in _QUANTITY_FIELDS:
        name, unit = _QUANTITY_FIELDS[kind]
        values, paths = _quantity_values(resource, name, unit)
    elif kind == "bp":
        values, paths = _bp_panel_values(resource)
    elif kind == "acvpu":
        values, paths = _acvpu_values(resource)
    else:
        values, paths = _air_or_oxygen_values(resource, kind)
    return ObservationInput(
        key=_KIND_PARAMETER.get(kind, kind),
        subject=subject,
        taken_at=taken_at,
        values=values,
        paths={**paths, "taken_at": "Observation.effectiveDateTime"},
    )


# --- Writes (for records.services.observations; kept here while that package is being changed) -----


# --- Search ---------------------------------------------------------------------------------------

SEARCH_PARAMETERS = frozenset({"patient", "code", "category", "date", "_sort", "_count", "_offset"})
REPEATABLE = frozenset({"code", "category", "date"})

# What a code search token finds: the parameter, narrowed where one code means part of it.
_SEARCH_CODES: dict[tuple[str, str], tuple[str, Q]] = {
    **{(s, c): (key, held_q(key)) for key, p in PARAMETERS.items() for s, c, _ in p.codings},
    (SNOMED, "78564009"): ("hr", held_q("hr")),
    ROOM_AIR[:2]: ("o2", Q(on_oxygen=False)),
    ON_OXYGEN[:2]: ("o2", Q(on_oxygen=True)),
    **{(s, c): ("bp", _recorded_q("systolic_bp")) for s, c, _ in SYSTOLIC},
    **{(s, c): ("bp", _recorded_q("diastolic_bp")) for s, c, _ in DIASTOLIC},
}
Selection = dict[str, Q]  # parameter key -> the sets in which that Observation exists and matches


@dataclass(frozen=True, kw_only=True)
class ObservationSearch(RecordSearch):
    selection: Selection
    taken: Q


def _all_parameters() -> Selection:
    return {key: held_q(key) for key in PARAMETERS}


def _union(a: Selection, b: Selection) -> Selection:
    return {key: (a[key] | b[key]) if key in a and key in b else a.get(key, b.get(key)) for key in a | b}


def _both(a: Q, b: Q) -> Q:
    return a if a == b else a & b


def _intersection(a: Selection, b: Selection) -> Selection:
    return {key: _both(a[key], b[key]) for key in a if key in b}


def _code_token(token: str) -> Selection:
    system, bar, code = token.partition("|")
    if not bar:
        system, code = "", token
    found: Selection = {}
    for (s, c), (key, q) in _SEARCH_CODES.items():
        if (not system or s == system) and (not code or c == code):
            found = _union(found, {key: _both(held_q(key), q)})
    return found  # an unknown code finds nothing, as FHIR expects


def _category_token(token: str) -> Selection:
    system, bar, code = token.partition("|")
    if not bar:
        system, code = CATEGORY_SYSTEM, token
    if system not in ("", CATEGORY_SYSTEM):
        return {}
    return {key: held_q(key) for key, p in PARAMETERS.items() if p.category == code}


def _token_selection(values: list[str], parse: Any) -> Selection:
    """Each repeat of the parameter narrows (AND); commas inside one widen (OR)."""
    selection = _all_parameters()
    for value in values:
        alternatives: Selection = {}
        for token in value.split(","):
            alternatives = _union(alternatives, parse(token.strip()))
        selection = _intersection(selection, alternatives)
    return selection


def parse_search(query: QueryDict, *, patient_required: bool) -> ObservationSearch:
    """Check the query string of GET /Observation; unknown or wrongly repeated parameters are refused."""
    newest_first = check_record_query(
        query,
        SEARCH_PARAMETERS,
        REPEATABLE,
        patient_required=patient_required,
        what="observations",
        newest_first="newest first",
    )
    selection = _intersection(
        _token_selection(query.getlist("code"), _code_token),
        _token_selection(query.getlist("category"), _category_token),
    )
    taken = reduce(lambda a, b: a & b, (instant_q("taken_at", v) for v in query.getlist("date")), Q())
    return ObservationSearch(
        selection=selection, taken=taken, newest_first=newest_first, **record_search_fields(query)
    )


def _one_if(q: Q) -> Case:
    return Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())


# A page's items are Observations as (set, parameter key), in page order; its total counts
# Observations, not sets.
ObservationPage = SearchPage[tuple[ObservationSet, str]]


def search_page(search: ObservationSearch) -> ObservationPage:
    """One page of matching Observations in three queries, however many sets the patient has.

    Paging is by Observation, as FHIR's _count and _offset mean, but done on sets in SQL: each set's
    number of matching Observations is a sum of CASEs, and a running sum over the sort order (a window)
    says which sets hold Observations offset .. offset+count-1. The page of sets is expanded here.
    """
    if not search.selection:
        return SearchPage(total=0, items=[])
    sets = ObservationSet.objects.filter(search.taken).filter(reduce(or_, search.selection.values()))
    if search.patient_id is not None:
        sets = sets.filter(patient_id=search.patient_id)
    flags = {f"has_{key}": _one_if(q) for key, q in search.selection.items()}
    # Starting from 0 keeps the sum a different expression from a lone flag: the window query that
    # Django wraps around the page would otherwise select the two as one column.
    matches = reduce(add, flags.values(), Value(0))
    total = sets.aggregate(total=Coalesce(Sum(matches), 0))["total"]
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    order = ("-taken_at", "-pk") if search.newest_first else ("taken_at", "pk")
    window_order = [F(name[1:]).desc() if name.startswith("-") else F(name).asc() for name in order]
    page = (
        sets.select_related("recorded_by")
        .annotate(
            **flags,
            matches=matches,
            # Matching Observations in this set and every set before it in the sort order.
            through=Window(Sum(matches), order_by=window_order, frame=RowRange(start=None, end=0)),
        )
        .filter(through__gt=search.offset, through__lt=search.offset + search.count + F("matches"))
        .order_by(*order)
    )
    resources = []
    for obs in page:
        keys = [key for key in PARAMETERS if getattr(obs, f"has_{key}", 0)]
        first = obs.through - obs.matches  # the position of this set's first Observation in the results
        for position, key in enumerate(keys, start=first):
            if search.offset <= position < search.offset + search.count:
                resources.append((obs, key))
    return SearchPage(total=total, items=resources)


# --- Transaction bundles --------------------------------------------------------------------------


def entry_path(index: int, expression: str) -> str:
    """Where an element of a Bundle entry's resource is: Observation.code -> Bundle.entry[2].resource.code."""
    head, dot, rest = expression.partition(".")
    if head in ("Observation", "Patient"):
        return f"Bundle.entry[{index}].resource{dot}{rest}"
    return f"Bundle.entry[{index}].{expression}"


def in_entry(error: FHIRError, index: int) -> FHIRError:
    """The error of one Bundle entry, with the entry named in its text and element paths."""
    return FHIRError(
        f"Bundle.entry[{index}]: {error.diagnostics}",
        status_code=error.status_code,
        code=error.code,
        expression=[entry_path(index, e) for e in error.expression] or [f"Bundle.entry[{index}]"],
    )


def merge_inputs(inputs: list[tuple[int, ObservationInput]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The values of several posted Observations for one set, refusing two different values for one field.

    The paths name the Bundle entry each value came from, for errors the service raises on the whole set.
    """
    values: dict[str, Any] = {}
    paths = {"taken_at": entry_path(inputs[0][0], "Observation.effectiveDateTime")}
    for index, item in inputs:
        for name, value in item.values.items():
            path = entry_path(index, item.paths.get(name, "Observation"))
            if _recorded(values.get(name)) and _recorded(value) and values[name] != value:
                raise FHIRError(
                    f"Bundle.entry[{index}]: a second, different value for a measurement already in this "
                    "bundle for the same patient and time.",
                    status_code=422,
                    code="business-rule",
                    expression=[path, paths[name]],
                )
            if _recorded(value) or name not in values:
                values[name], paths[name] = value, path
    return values, paths
