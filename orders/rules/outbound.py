"""Orders as HL7 v2.4 messages to the department system: OML^O21 to a laboratory, ORM^O01 to imaging
and cardiology. ORC-1 says new (NW) or cancel (CA); the placer order number goes in ORC-2 and OBR-2;
the NHS number in PID-3 with assigning authority NHS (type NH), the hospital number beside it (MR);
the answers to the order's questions travel as OBX segments and the notes as NTE. Pure: the caller
passes plain values and gets ER7 text back (segments ended by CR)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from orders.rules.hl7 import LONDON, escape

VERSION = "2.4"
HL7_PRIORITY = {"routine": "R", "urgent": "A", "stat": "S"}  # HL7 table 0027
HL7_SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


@dataclass(frozen=True)
class OrderFacts:
    event: str  # NW, CA
    control_id: str
    laboratory: bool
    placer_number: str
    filler_number: str
    test_code: str
    test_name: str
    loinc_code: str
    priority: str
    requested_at: datetime
    requested_for: datetime
    clinical_details: str
    notes: str
    specimen_type: str
    requester_id: str  # GMC or NMC number, else the user name
    requester_family: str
    requester_given: str
    nhs_number: str
    hospital_number: str
    family_name: str
    given_name: str
    date_of_birth: date | None
    sex: str
    ward_code: str = ""
    bed: str = ""
    answers: Sequence[tuple[str, str, str]] = field(default_factory=tuple)  # key, question, answer
    specimen_snomed: str = ""
    cancel_reason: str = ""
    sending_facility: str = "RXX"
    receiving_application: str = ""


def _ts(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y%m%d%H%M%S")


def _segment(*fields: str) -> str:
    return "|".join(fields).rstrip("|")


def _specimen_source(facts: OrderFacts) -> str:
    """OBR-15 (CM in v2.4): its first component a CE of code, text and coding system, in
    subcomponents; SNOMED CT when the catalogue gives the specimen's concept."""
    text = escape(facts.specimen_type)
    return f"{facts.specimen_snomed}&{text}&SCT" if facts.specimen_snomed else f"&{text}"


def message_type(laboratory: bool) -> str:
    return "OML^O21" if laboratory else "ORM^O01"


def order_message(facts: OrderFacts, *, now: datetime) -> str:
    kind = message_type(facts.laboratory)
    structure = kind.replace("^", "_")
    receiver = facts.receiving_application or ("LAB" if facts.laboratory else "RIS")
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            "EPR",
            facts.sending_facility,
            receiver,
            facts.sending_facility,
            _ts(now),
            "",
            f"{kind}^{structure}",
            facts.control_id,
            "P",
            VERSION,
            "",
            "",
            "AL",  # accept acknowledgement always: the ACK is stored
            "NE",
        ]
    )
    identifiers = []
    if facts.nhs_number:
        identifiers.append(f"{facts.nhs_number}^^^NHS^NH")
    if facts.hospital_number:
        identifiers.append(f"{escape(facts.hospital_number)}^^^{facts.sending_facility}^MR")
    pid = _segment(
        "PID",
        "1",
        "",
        "~".join(identifiers),
        "",
        f"{escape(facts.family_name)}^{escape(facts.given_name)}",
        "",
        facts.date_of_birth.strftime("%Y%m%d") if facts.date_of_birth else "",
        HL7_SEX.get(facts.sex, "U"),
    )
    pv1 = _segment(
        "PV1", "1", "I" if facts.ward_code else "O", f"{escape(facts.ward_code)}^^{escape(facts.bed)}"
    )
    priority = HL7_PRIORITY.get(facts.priority, "R")
    timing = f"^^^{_ts(facts.requested_for)}^^{priority}"
    requester = (
        f"{escape(facts.requester_id)}^{escape(facts.requester_family)}^{escape(facts.requester_given)}"
    )
    placer = f"{facts.placer_number}^EPR"
    filler = f"{escape(facts.filler_number)}^{receiver}" if facts.filler_number else ""
    service = f"{escape(facts.test_code)}^{escape(facts.test_name)}^L"
    if facts.loinc_code:
        service += f"^{facts.loinc_code}^^LN"
    orc = _segment(
        "ORC",
        facts.event,
        placer,
        filler,
        "",
        "",  # ORC-5 order status is the filler's to give
        "",
        timing,
        "",
        _ts(facts.requested_at),
        "",
        "",
        requester,
        "",
        "",
        "",
        f"^{escape(facts.cancel_reason)}" if facts.event == "CA" and facts.cancel_reason else "",  # CE text
    )
    obr = _segment(
        "OBR",
        "1",
        placer,
        filler,
        service,
        "",
        _ts(facts.requested_for),
        "",
        "",
        "",
        "",
        "",
        "",
        escape(facts.clinical_details),
        "",
        _specimen_source(facts) if facts.laboratory else "",
        requester,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        timing,
    )
    segments = [msh, pid, pv1, orc, obr]
    notes = [line.strip() for line in (facts.notes or "").splitlines() if line.strip()]
    for number, line in enumerate(notes, start=1):
        segments.append(_segment("NTE", str(number), "P", escape(line)))
    for number, (key, question, answer) in enumerate(facts.answers, start=1):
        segments.append(
            _segment(
                "OBX",
                str(number),
                "ST",
                f"{escape(key)}^{escape(question)}^L",
                "",
                escape(answer),
                "",
                "",
                "",
                "",
                "",
                "F",
            )
        )
    return "\r".join(segments) + "\r"


def ack_code(ack_text: str) -> tuple[str, str]:
    """MSA-1 and MSA-3 of an ACK as text, or ("", why) when it is not one."""
    for segment in ack_text.replace("\r\n", "\r").replace("\n", "\r").split("\r"):
        if segment.startswith("MSA"):
            fields = segment.split(segment[3]) if len(segment) > 3 else []
            code = fields[1] if len(fields) > 1 else ""
            text = fields[3] if len(fields) > 3 else ""
            return code.strip(), text.strip()
    return "", "The answer had no MSA segment."
