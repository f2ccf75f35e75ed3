"""A FHIR R4 DiagnosticReport sent to the EPR (POST /fhir/DiagnosticReport, or in a transaction Bundle)
read into the values an HL7 v2 result is read into (orders.rules.hl7), so both are filed by the one
service (orders.services.results.results_file): matched to the patient and order, queued when the
patient does not match, once only, alerted and audited alike.

The report's values are Observations contained in it and named by its result (`#id`). What cannot
be filed is refused with the element at fault (422), never guessed: no subject, a code with neither a
coding nor words, a value of a kind the results tables do not hold, a status with no HL7 equivalent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.conf import settings

from epr.fhir.errors import FHIRError, invalid_value
from epr.fhir.resources import reference_id
from orders.fhir.reports import (
    COMPARATORS,
    HL7_LOINC,
    HL7_SNOMED,
    INTERPRETATIONS,
    LOINC,
    SNOMED,
    filler_number_system,
    lab_code_system,
)
from orders.fhir.requests import order_number_systems
from orders.models import Order
from orders.rules.hl7 import LARGEST_NUMBER, LONDON, Observation, PatientNamed, Report, ResultMessage
from records.models import Patient

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
MESSAGE_TYPE = "DiagnosticReport"
HL7_LOCAL = "L"  # a laboratory's own code, as HL7 v2 names its coding system

# FHIR statuses as the HL7 v2 statuses the results tables keep (OBR-25, OBX-11).
REPORT_STATUSES = {
    "final": "F",
    "corrected": "C",
    "amended": "C",
    "appended": "C",
    "preliminary": "P",
    "partial": "P",
    "cancelled": "X",
    "registered": "I",
}
OBSERVATION_STATUSES = {
    "final": "F",
    "corrected": "C",
    "amended": "C",
    "preliminary": "P",
    "cancelled": "X",
    "registered": "I",
    "entered-in-error": "W",
}

# Who the subject reference resolves to when it is a Patient created earlier in the same Bundle.
BundlePatients = Callable[[str], Patient | None]


@dataclass(frozen=True)
class Incoming:
    message: ResultMessage
    raw: str  # the JSON as received, kept with the message


def _refused(message: str, *where: str, code: str = "value") -> FHIRError:
    return invalid_value(message, *where, status=422, code=code)


# --- Values ---------------------------------------------------------------------------------------


def _moment(value: Any, where: str = "") -> datetime | None:
    """A FHIR dateTime as the model reads it: an aware datetime, a date (London midnight) or, at a
    lower precision, "YYYY-MM" or "YYYY" (its first day)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        if isinstance(value, str):
            given_year, _, month = value.partition("-")
            value = date(int(given_year), int(month or 1), 1)
        moment = datetime.combine(value, time(), tzinfo=LONDON)
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 1900 <= year <= 2200:  # a result from before 1900 or after 2200 is a typing error
        raise _refused(
            f"{where or 'The date'} must be between the years 1900 and 2200.", *([where] if where else [])
        )
    return moment


def _coded(concept: Any, where: str) -> tuple[str, str, str]:
    """(code, HL7 coding system, name) of a test: LOINC first, then SNOMED CT, then the trust's
    laboratory code. A code of another system is kept as words only: filing it under a system this
    server sends as its own would misname it."""
    if concept is None:
        raise _refused(f"{where} is required: the test or panel the result is of.", where, code="required")
    codings = [c for c in concept.coding or [] if c.code]
    known = {LOINC: HL7_LOINC, SNOMED: HL7_SNOMED, lab_code_system(): HL7_LOCAL}
    chosen = next((c for system in known for c in codings if c.system == system), None)
    name = (
        concept.text
        or (chosen.display if chosen else "")
        or next((c.display for c in codings if c.display), "")
    )
    if chosen is None:
        if not name:
            raise _refused(f"{where} needs words (text) or a LOINC, SNOMED CT or laboratory code.", where)
        return "", "", str(name)[:200]
    return str(chosen.code), known[str(chosen.system)], str(name or chosen.code)[:200]


def _status(code: Any, table: dict[str, str], where: str) -> str:
    status = table.get(str(code))
    if status is None:
        raise _refused(f"{where} {code} cannot be filed: send one of {', '.join(table)}.", where)
    return status


def _number(value: Decimal) -> Decimal | None:
    """The number the results table can hold (as HL7's reading keeps one), else None: text only."""
    return value if value.is_finite() and abs(value) < LARGEST_NUMBER else None


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def _value(o: Any, where: str) -> dict[str, Any]:
    """value_type, value_text, value_number, comparator and unit of an Observation's value."""
    if o.valueQuantity is not None and o.valueQuantity.value is not None:
        q = o.valueQuantity
        comparator = q.comparator if q.comparator in COMPARATORS else ""
        number = Decimal(q.value)
        return {
            "value_type": "SN" if comparator else "NM",
            "value_text": _text(number),
            "value_number": _number(number),
            "comparator": comparator,
            "unit": str(q.unit or q.code or ""),
        }
    if o.valueInteger is not None:
        return {
            "value_type": "NM",
            "value_text": str(o.valueInteger),
            "value_number": _number(Decimal(o.valueInteger)),
        }
    if o.valueString:
        return {"value_type": "ST", "value_text": str(o.valueString)}
    if o.valueCodeableConcept is not None:
        concept = o.valueCodeableConcept
        words = concept.text or next(
            (c.display or c.code for c in concept.coding or [] if c.display or c.code), ""
        )
        if words:
            return {"value_type": "CWE", "value_text": str(words)}
    raise _refused(
        f"{where} has no value: send valueQuantity, valueString or valueCodeableConcept (a panel's "
        "members go in the report's result, each with its value).",
        f"{where}.value[x]",
    )


def _bound(quantity: Any) -> str:
    return _text(Decimal(quantity.value)) if quantity is not None and quantity.value is not None else ""


def _reference_range(ranges: list[Any] | None) -> str:
    """The first range as the results tables keep it: "3.5-5.3", ">=90" or "<=5" for one bound (a
    FHIR bound is inclusive), else its words."""
    if not ranges:
        return ""
    first = ranges[0]
    low, high = _bound(first.low), _bound(first.high)
    if low and high:
        return f"{low}-{high}"
    if low or high:
        return f">={low}" if low else f"<={high}"
    return str(first.text or "")


def _flag(interpretations: list[Any] | None) -> str:
    """The HL7 abnormal flag of the first interpretation coded as one (H, L, HH, LL, A, N...)."""
    for concept in interpretations or []:
        for coding in concept.coding or []:
            if coding.code and str(coding.code).upper() in INTERPRETATIONS:
                return str(coding.code).upper()
    return ""


def _notes(notes: list[Any] | None) -> str:
    return "\n".join(str(n.text) for n in notes or [] if n.text)


def observation_values(o: Any, set_id: int, where: str) -> Observation:
    code, code_system, name = _coded(o.code, f"{where}.code")
    value = {"value_number": None, "comparator": "", "unit": "", **_value(o, where)}
    return Observation(
        set_id=str(set_id),
        code=code,
        code_system=code_system,
        name=name,
        reference_range=_reference_range(o.referenceRange)[:60],
        flag=_flag(o.interpretation),
        status=_status(o.status, OBSERVATION_STATUSES, f"{where}.status"),
        observed_at=_moment(o.effectiveDateTime, f"{where}.effectiveDateTime"),
        notes=_notes(o.note),
        **value,
    )


# --- The report -----------------------------------------------------------------------------------


def _observations(report: Any, in_bundle: set[str]) -> tuple[Observation, ...]:
    """The report's values, in its result's order: each an Observation contained in it."""
    contained = {f"#{c.id}": c for c in report.contained or [] if c.id}
    values = []
    for index, result in enumerate(report.result or []):
        where = f"DiagnosticReport.result[{index}]"
        reference = str(result.reference or "")
        if reference in in_bundle:
            raise _refused(
                f"{where} names an Observation entry of the Bundle: contain the report's Observations in "
                "it (DiagnosticReport.contained, result #id). Observation entries of a transaction are "
                "recorded as vital signs.",
                where,
                code="not-supported",
            )
        found = contained.get(reference)
        if found is None or found.get_resource_type() != "Observation":
            raise _refused(f"{where} must name an Observation contained in the report (#id).", where)
        values.append(observation_values(found, index + 1, f"DiagnosticReport.contained[{reference[1:]}]"))
    return tuple(values)


def _placer_number(report: Any, base_url: str) -> str:
    """The order the report answers: basedOn ServiceRequest/<id> (this server's id), or an order
    number sent as the basedOn or the report's own identifier."""
    for index, based_on in enumerate(report.basedOn or []):
        where = f"DiagnosticReport.basedOn[{index}]"
        if based_on.reference:
            order_id = reference_id(str(based_on.reference), "ServiceRequest", base_url=base_url)
            number = (
                Order.objects.filter(pk=order_id).values_list("number", flat=True).first()
                if order_id
                else None
            )
            if number is None:
                raise _refused(f"{where} {based_on.reference} is not an order of this server.", where)
            return str(number)
        if based_on.identifier and based_on.identifier.system in order_number_systems():
            return str(based_on.identifier.value or "")
    return next(
        (str(i.value) for i in report.identifier or [] if i.system in order_number_systems() and i.value), ""
    )


def _filler_number(report: Any) -> str:
    """The laboratory's number for the report: its identifier with the filler system or type FILL,
    else its first identifier that is not an order number."""
    others = [i for i in report.identifier or [] if i.value and i.system not in order_number_systems()]

    def is_filler(i: Any) -> bool:
        types = [c.code for c in (i.type.coding or [])] if i.type else []
        return i.system == filler_number_system() or "FILL" in types

    chosen = next((i for i in others if is_filler(i)), others[0] if others else None)
    return str(chosen.value) if chosen is not None else ""


def _named(patient: Patient) -> PatientNamed:
    # The sender chose the record: match by its own numbers (no name or birth date to disagree).
    return PatientNamed(
        nhs_number=patient.nhs_number or "",
        hospital_numbers=(patient.hospital_number,) if patient.hospital_number else (),
        family_name="",
        given_name="",
        date_of_birth=None,
        by_reference=True,
    )


def patient_named(subject: Any, base_url: str, bundle_patient: BundlePatients | None = None) -> PatientNamed:
    """Who the report is about: Patient/<id> (or a Patient created earlier in the Bundle), else the NHS
    number or hospital number on the subject's identifier, matched as an HL7 v2 result's PID is."""
    where = "DiagnosticReport.subject"
    if subject is None:
        raise _refused("subject is required: the patient the report is about.", where, code="required")
    reference = str(subject.reference or "")
    if reference.startswith("urn:") and bundle_patient is not None:
        created = bundle_patient(reference)
        if created is None:
            raise _refused(f"{reference} is not the fullUrl of a Patient in this Bundle.", where)
        return _named(created)
    patient_id = reference_id(reference, "Patient", base_url=base_url)
    if patient_id is not None:
        patient = Patient.objects.filter(pk=patient_id).first()
        if patient is None:
            raise _refused(f"subject {reference} is not a patient of this server.", where)
        return _named(patient)
    identifier = subject.identifier
    value = str(identifier.value or "").replace(" ", "") if identifier is not None else ""
    if not reference and value and identifier.system == NHS_NUMBER_SYSTEM:
        return PatientNamed(value, (), "", "", None, by_reference=True)
    if not reference and value and identifier.system == settings.EPR_HOSPITAL_NUMBER_SYSTEM:
        return PatientNamed("", (value,), "", "", None, by_reference=True)
    raise _refused(
        f"subject must be Patient/<id>, or an identifier with the NHS number system {NHS_NUMBER_SYSTEM}.",
        where,
    )


def control_id(report: Any, filler: str) -> str:
    """What makes the report once only for its sender: the laboratory's identifier with a digest of
    the report. The same report sent again is the same; a correction under the same identifier is a
    new report (the identifier alone would answer it with the first and lose the correction)."""
    canonical = report.model_dump(mode="json", exclude_none=True)
    canonical.pop("meta", None)  # a resend may carry a new lastUpdated
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    return f"{filler[:37]}#{digest[:12]}" if filler else digest[:40]


def incoming_report(
    report: Any,
    raw: str,
    *,
    sender: str,
    base_url: str,
    bundle_patient: BundlePatients | None = None,
    bundle_observations: frozenset[str] = frozenset(),
) -> Incoming:
    """The report (a validated R4B DiagnosticReport) as a results message from `sender`."""
    patient = patient_named(report.subject, base_url, bundle_patient)
    code, code_system, name = _coded(report.code, "DiagnosticReport.code")
    filler = _filler_number(report)
    effective = report.effectiveDateTime or (report.effectivePeriod.start if report.effectivePeriod else None)
    values = Report(
        placer_number=_placer_number(report, base_url),
        filler_number=filler,
        code=code,
        code_system=code_system,
        name=name,
        status=_status(report.status, REPORT_STATUSES, "DiagnosticReport.status"),
        observed_at=_moment(effective, "DiagnosticReport.effectiveDateTime"),
        issued_at=_moment(report.issued, "DiagnosticReport.issued"),
        notes=str(report.conclusion or ""),
        observations=_observations(report, set(bundle_observations)),
    )
    ident = control_id(report, filler)
    message = ResultMessage(
        sender=sender,
        control_id=ident,
        message_type=MESSAGE_TYPE,
        version="R4",
        patient=patient,
        reports=(values,),
        header={"control_id": ident, "sending_application": sender},
    )
    return Incoming(message=message, raw=raw)
