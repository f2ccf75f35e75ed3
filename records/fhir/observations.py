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
from operator import or_
from typing import Any

from django.db.models import Q
from django.utils import timezone

from epr.fhir.errors import FHIRError, invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, Coding, codeable_concept, instant, validated
from records.fhir.common import (
    DEFAULT_COUNT,
    MAX_COUNT,
    entry_path,
)
from records.fhir.observation_codes import (
    ACVPU,
    ACVPU_CODES,
    BEATS,
    BP,
    BREATHS,
    CATEGORY_DISPLAY,
    CATEGORY_SYSTEM,
    CELSIUS,
    CM,
    DATA_ABSENT_SYSTEM,
    DIASTOLIC,
    HEIGHT,
    HR,
    KG,
    LITRES_PER_MINUTE,
    LOINC,
    MM_HG,
    NEWS2_INPUTS,
    O2,
    ON_OXYGEN,
    PARAMETERS,
    PERCENT,
    ROOM_AIR,
    RR,
    SCORE,
    SNOMED,
    SPO2,
    SPO2_SCALE_2_SCORE,
    SUB_SCORES,
    SYSTOLIC,
    TEMP,
    UCUM,
    WEIGHT,
    Parameter,
    Unit,
)
from records.models import ObservationSet, OxygenDevice
from records.rules import news2

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


def recorded_q(name: str) -> Q:
    # consciousness is a blank-able text column; the rest are nullable.
    if ObservationSet._meta.get_field(name).get_internal_type() == "CharField":
        return ~Q(**{name: ""})
    return Q(**{f"{name}__isnull": False})


def held_q(key: str) -> Q:
    return reduce(or_, (recorded_q(name) for name in PARAMETERS[key].fields))


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
            "lastUpdated": instant(version[1]) if version else None,
            "profile": [param.profile],
        },
        "status": obs.status,
        "category": [codeable_concept((CATEGORY_SYSTEM, param.category, CATEGORY_DISPLAY[param.category]))],
        "code": codeable_concept(*param.codings, text=param.text),
        "subject": {"reference": f"Patient/{obs.patient_id}"},
        "effectiveDateTime": instant(timezone.localtime(obs.taken_at)),
        "issued": instant(obs.recorded_at),
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


# --- Transaction bundles --------------------------------------------------------------------------


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
