"""HL7 v2 results messages (ORU^R01) read into plain values, and the ACK answered to them. Parsing is
python-hl7's: a maintained, small, permissive ER7 parser that keeps the delimiters a message declares
in MSH-1 and MSH-2 and undoes the escape sequences. This module only decides what each field means
for a result, and refuses with a reason what cannot be filed. No database here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]  # python-hl7 ships no types

LONDON = ZoneInfo("Europe/London")
SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8")


class MessageRefused(ValueError):
    """The message cannot be accepted. `code` is the ACK's: AR (rejected: do not send it again as
    it is) or AE (an error here: it may be sent again)."""

    def __init__(self, message: str, *, code: str = "AR", segment: str = "", control_id: str = "") -> None:
        super().__init__(message)
        self.code, self.segment, self.control_id = code, segment, control_id


@dataclass(frozen=True)
class Observation:
    set_id: str
    value_type: str
    code: str
    code_system: str
    name: str
    value_text: str
    value_number: Decimal | None
    comparator: str
    unit: str
    reference_range: str
    flag: str
    status: str
    observed_at: datetime | None
    notes: str = ""


@dataclass(frozen=True)
class Report:
    placer_number: str
    filler_number: str
    code: str
    code_system: str
    name: str
    status: str
    observed_at: datetime | None
    issued_at: datetime | None
    notes: str
    observations: tuple[Observation, ...]


@dataclass(frozen=True)
class PatientNamed:
    nhs_number: str
    hospital_numbers: tuple[str, ...]
    family_name: str
    given_name: str
    date_of_birth: date | None
    # The sender chose the record itself (a FHIR reference or identifier), rather than describing the
    # patient with numbers, name and birth date to be checked against each other.
    by_reference: bool = False


@dataclass(frozen=True)
class ResultMessage:
    sender: str
    control_id: str
    message_type: str
    version: str
    patient: PatientNamed
    reports: tuple[Report, ...]
    header: dict[str, str] = field(default_factory=dict)  # what the ACK echoes


def normalise(text: str) -> str:
    """Segments separated by CR, whatever the sender used (CR LF, LF); no empty segments."""
    lines = re.split(r"\r\n|\n|\r", text.strip("\r\n\x0b\x1c"))
    return "\r".join(line for line in lines if line.strip())


def hl7_datetime(value: str) -> datetime | None:
    """An HL7 TS/DTM (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) as an aware datetime; without an offset
    it is UK time. A date without a time is midnight. Empty or unreadable is None."""
    match = re.fullmatch(
        r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?", value.strip()
    )
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=UTC,  # replaced below by the offset sent, or UK time
        )
    except ValueError:
        return None
    try:
        if offset:
            sign = 1 if offset[0] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            return moment.replace(tzinfo=zone).astimezone(UTC)
        return moment.replace(tzinfo=LONDON).astimezone(UTC)
    except (ValueError, OverflowError):  # an offset beyond a day, or a moment beyond the calendar
        return None


def _date(value: str) -> date | None:
    moment = hl7_datetime(value[:8]) if len(value) >= 8 else None
    return moment.astimezone(LONDON).date() if moment else None


class _Reader:
    """Field access by HL7 position (1-based), unescaped (by python-hl7), "" for anything absent."""

    def __init__(self, message: Any) -> None:
        self.message = message

    def get(self, segment: Any, field_num: int, component: int = 1, repeat: int = 1, sub: int = 1) -> str:
        try:
            value = segment.extract_field(1, field_num, repeat, component, sub)
        except (IndexError, KeyError):
            return ""
        except ValueError:  # a malformed escape (\.brA\): keep the field as sent rather than lose it
            return str(segment[field_num]) if len(segment) > field_num else ""
        return str(value) if value else ""  # extract_field has undone the escapes: once is right

    def repeats(self, segment: Any, field_num: int) -> int:
        try:
            return len(segment[field_num]) if len(segment) > field_num else 0
        except (IndexError, TypeError):
            return 0


# A value the result table can hold as a number (12 digits before the point); anything larger, or
# not a number, is kept as text only.
LARGEST_NUMBER = Decimal("1e12")


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) < LARGEST_NUMBER else None


def _number(value_type: str, raw: str, reader: _Reader, obx: Any) -> tuple[Decimal | None, str]:
    if value_type == "NM":
        return _decimal(raw), ""
    if value_type == "SN":  # structured numeric: comparator ^ number, as "<^149"
        comparator, number = reader.get(obx, 5, 1), _decimal(reader.get(obx, 5, 2))
        if number is None:
            return None, ""
        return number, comparator if comparator in ("<", ">", "<=", ">=", "=") else ""
    return None, ""


def _observation(reader: _Reader, obx: Any, notes: list[str]) -> Observation:
    value_type = reader.get(obx, 2)
    if value_type in ("CE", "CWE", "CNE"):
        raw = reader.get(obx, 5, 2) or reader.get(obx, 5, 1)
    elif value_type == "SN":
        raw = "".join(reader.get(obx, 5, c) for c in (1, 2, 3, 4))
    else:
        repeats = max(1, reader.repeats(obx, 5))
        raw = "\n".join(reader.get(obx, 5, 1, r) for r in range(1, repeats + 1))
    number, comparator = _number(value_type, raw, reader, obx)
    if comparator:  # "<^149": the comparator is kept on its own, the text is the number as sent
        raw = raw[len(comparator) :]
    return Observation(
        set_id=reader.get(obx, 1),
        value_type=value_type,
        code=reader.get(obx, 3, 1),
        code_system=reader.get(obx, 3, 3),
        name=reader.get(obx, 3, 2) or reader.get(obx, 3, 1),
        value_text=raw,
        value_number=number,
        comparator=comparator,
        unit=reader.get(obx, 6, 1),
        reference_range=reader.get(obx, 7),
        flag=reader.get(obx, 8),
        status=reader.get(obx, 11) or "F",
        observed_at=hl7_datetime(reader.get(obx, 14)),
        notes="\n".join(notes),
    )


def _patient(reader: _Reader, pid: Any) -> PatientNamed:
    nhs, local = "", []
    for r in range(1, max(1, reader.repeats(pid, 3)) + 1):
        number = reader.get(pid, 3, 1, r).replace(" ", "")
        authority, kind = reader.get(pid, 3, 4, r).upper(), reader.get(pid, 3, 5, r).upper()
        if not number:
            continue
        if authority == "NHS" or kind == "NH":
            nhs = number
        else:
            local.append(number)
    return PatientNamed(
        nhs_number=nhs,
        hospital_numbers=tuple(local),
        family_name=reader.get(pid, 5, 1),
        given_name=reader.get(pid, 5, 2),
        date_of_birth=_date(reader.get(pid, 7)),
    )


def parse_result_message(text: str) -> ResultMessage:
    """Read an ORU^R01; refuse, with the reason, what is not one or cannot be filed."""
    body = normalise(text)
    if "\x00" in body:
        raise MessageRefused(
            "The message contains a NUL character, which HL7 text cannot hold.", segment="MSH"
        )
    if not body.startswith("MSH"):
        raise MessageRefused("The message does not start with an MSH segment.", segment="MSH")
    try:
        message = hl7.parse(body)
        msh = message.segment("MSH")
    except Exception as exc:  # python-hl7 raises several kinds for broken ER7
        raise MessageRefused(f"The message cannot be read as HL7 v2: {exc}", segment="MSH") from exc
    reader = _Reader(message)
    control_id = reader.get(msh, 10)
    header = {
        "sending_application": str(msh[3]) if len(msh) > 3 else "",
        "sending_facility": str(msh[4]) if len(msh) > 4 else "",
        "receiving_application": str(msh[5]) if len(msh) > 5 else "",
        "receiving_facility": str(msh[6]) if len(msh) > 6 else "",
        "control_id": control_id,
        "processing_id": reader.get(msh, 11) or "P",
        "version": reader.get(msh, 12),
    }
    kind, trigger = reader.get(msh, 9, 1), reader.get(msh, 9, 2)
    refuse = {"control_id": control_id}
    if not control_id:
        raise MessageRefused("MSH-10 (message control id) is empty.", segment="MSH", **refuse)
    if header["version"] and header["version"] not in SUPPORTED_VERSIONS:
        raise MessageRefused(f"HL7 version {header['version']} is not supported.", segment="MSH", **refuse)
    if kind != "ORU" or trigger not in ("R01", ""):
        raise MessageRefused(
            f"Only ORU^R01 results are accepted here, not {kind}^{trigger}.", segment="MSH", **refuse
        )
    segments = list(message)
    pids = [s for s in segments if str(s[0]) == "PID"]
    if not pids:
        raise MessageRefused(
            "The message has no PID segment: a result must name its patient.", segment="PID", **refuse
        )
    reports = _reports(reader, segments)
    if not reports:
        raise MessageRefused(
            "The message has no OBR segment: there is no report to file.", segment="OBR", **refuse
        )
    return ResultMessage(
        sender=f"{header['sending_application']}|{header['sending_facility']}",
        control_id=control_id,
        message_type=f"{kind}^{trigger}" if trigger else kind,
        version=header["version"],
        patient=_patient(reader, pids[0]),
        reports=reports,
        header=header,
    )


def _reports(reader: _Reader, segments: list[Any]) -> tuple[Report, ...]:
    """OBR groups in order, each with its OBX and the NTE comments after each."""
    groups: list[dict[str, Any]] = []
    orc_placer = ""
    for segment in segments:
        name = str(segment[0])
        if name == "ORC":
            orc_placer = reader.get(segment, 2)
        elif name == "OBR":
            groups.append({"obr": segment, "notes": [], "obx": [], "placer": orc_placer})
            orc_placer = ""  # an ORC is the order of the OBR after it, not of later ones
        elif name == "OBX" and groups:
            groups[-1]["obx"].append((segment, []))
        elif name == "NTE" and groups:
            target = groups[-1]["obx"][-1][1] if groups[-1]["obx"] else groups[-1]["notes"]
            target.append(reader.get(segment, 3))
    return tuple(
        Report(
            placer_number=reader.get(g["obr"], 2) or g["placer"],
            filler_number=reader.get(g["obr"], 3),
            code=reader.get(g["obr"], 4, 1),
            code_system=reader.get(g["obr"], 4, 3),
            name=reader.get(g["obr"], 4, 2) or reader.get(g["obr"], 4, 1),
            status=reader.get(g["obr"], 25) or "F",
            observed_at=hl7_datetime(reader.get(g["obr"], 7)),
            issued_at=hl7_datetime(reader.get(g["obr"], 22)),
            notes="\n".join(g["notes"]),
            observations=tuple(_observation(reader, obx, notes) for obx, notes in g["obx"]),
        )
        for g in groups
    )


def escape(text: str) -> str:
    """Text made safe for a field with the default delimiters (the escape character first)."""
    for char, sequence in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        text = text.replace(char, sequence)
    return text.replace("\r", " ").replace("\n", " ")


def ack(header: dict[str, str], code: str, text: str = "", *, error_segment: str = "", now: datetime) -> str:
    """The ACK in ER7, sender and receiver swapped, MSA-2 the message's control id."""
    stamp = now.astimezone(LONDON).strftime("%Y%m%d%H%M%S")
    control = header.get("control_id", "")
    safe = escape(text)
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                header.get("receiving_application", "") or "EPR",
                header.get("receiving_facility", ""),
                header.get("sending_application", ""),
                header.get("sending_facility", ""),
                stamp,
                "",
                "ACK^R01^ACK",
                f"ACK{stamp}{control}"[:50],
                header.get("processing_id", "P"),
                header.get("version", "") or "2.4",
            ]
        ),
        f"MSA|{code}|{control}|{safe}",
    ]
    if code != "AA":
        condition = (
            "207^Application internal error^HL70357" if code == "AE" else "100^Segment sequence error^HL70357"
        )
        segments.append(f"ERR||{error_segment}|{condition}|E||||{safe}")
    return "\r".join(segments) + "\r"


ABNORMAL_FLAGS = frozenset({"H", "L", "HH", "LL", "A", "AA", "<", ">", "HU", "LU"})


def is_abnormal(flag: str) -> bool:
    return flag.strip().upper() in ABNORMAL_FLAGS


def critical_reason(
    code: str, value: Decimal | None, unit: str, limits: dict[str, tuple[str, Decimal | None, Decimal | None]]
) -> str:
    """Why a value is critical by the trust's limits ("Potassium 6.8 mmol/L is above 6.5"), or "".
    A value exactly at a limit is not critical."""
    if value is None or code not in limits:
        return ""
    name, low, high = limits[code]
    if low is not None and value < low:
        return f"{name} {value.normalize():f} {unit} is below {low.normalize():f}".replace("  ", " ")
    if high is not None and value > high:
        return f"{name} {value.normalize():f} {unit} is above {high.normalize():f}".replace("  ", " ")
    return ""
