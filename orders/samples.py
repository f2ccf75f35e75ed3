"""HL7 v2 ORU^R01 messages for a patient, as a laboratory would send them: for the demo's results,
for `manage.py hl7_sample`, and for trying the interface with curl (README)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from orders.rules.hl7 import LONDON, escape
from records.models import Patient

# Urea and electrolytes, full blood count and CRP: (LOINC, name, unit, range), with a normal value.
PANELS = {
    "U&E": (
        "Urea and electrolytes",
        [
            ("2823-3", "Potassium", "mmol/L", "3.5-5.3", Decimal("4.2")),
            ("2951-2", "Sodium", "mmol/L", "133-146", Decimal("139")),
            ("22664-7", "Urea", "mmol/L", "2.5-7.8", Decimal("5.1")),
            ("14682-9", "Creatinine", "umol/L", "59-104", Decimal("88")),
            ("62238-1", "eGFR", "mL/min/1.73m2", ">90", Decimal("78")),
        ],
    ),
    "FBC": (
        "Full blood count",
        [
            ("718-7", "Haemoglobin", "g/L", "130-180", Decimal("138")),
            ("6690-2", "White cell count", "10*9/L", "4.0-11.0", Decimal("7.2")),
            ("777-3", "Platelets", "10*9/L", "150-400", Decimal("250")),
        ],
    ),
    "CRP": ("C-reactive protein", [("1988-5", "CRP", "mg/L", "0-5", Decimal("3"))]),
}


def _flag(value: Decimal, reference: str) -> str:
    if "-" not in reference:
        return ""
    low, high = (Decimal(part) for part in reference.split("-", 1))
    if value < low:
        return "LL" if value < low * Decimal("0.8") else "L"
    if value > high:
        return "HH" if value > high * Decimal("1.2") else "H"
    return ""


def _obr(filler: str, service: str, stamp: str, placer: str = "") -> str:
    """OBR with the placer number (2) of the order it answers, its filler number (3), service (4),
    collected (7), reported (22) and status (25)."""
    fields = ["OBR", "1", f"{placer}^EPR" if placer else "", filler, service] + [""] * 21
    fields[7], fields[22], fields[25] = stamp, stamp, "F"
    return "|".join(fields)


def oru_for(
    patient: Patient,
    panel: str = "U&E",
    *,
    values: dict[str, Decimal] | None = None,
    taken_at: datetime | None = None,
    control_id: str = "",
    placer: str = "",
) -> str:
    """An ORU^R01 of one panel for the patient, `values` overriding the normal ones by LOINC code;
    `placer` is the order number it answers (OBR-2), when there is an order."""
    taken = (taken_at or timezone.now()).astimezone(LONDON)
    stamp = taken.strftime("%Y%m%d%H%M")
    control = control_id or uuid.uuid4().hex[:20]
    name, tests = PANELS[panel]
    born = patient.date_of_birth.strftime("%Y%m%d") if patient.date_of_birth else ""
    segments = [
        f"MSH|^~\\&|WINPATH|PATHOLOGY|EPR|WARDS|{stamp}||ORU^R01^ORU_R01|{control}|P|2.4",
        f"PID|||{patient.hospital_number}^^^RXX^MR~{patient.nhs_number}^^^NHS^NH||"
        f"{escape(patient.family_name)}^{escape(patient.given_names)}||{born}",
        _obr(f"L{control[:10].upper()}", f"{escape(panel)}^{name}^L", stamp, placer),
    ]
    for number, (code, test, unit, reference, normal) in enumerate(tests, start=1):
        value = (values or {}).get(code, normal)
        flag = _flag(value, reference)
        segments.append(
            f"OBX|{number}|NM|{code}^{test}^LN||{value.normalize():f}|{unit}|{reference}|{flag}|||F"
        )
    return "\r".join(segments) + "\r"
