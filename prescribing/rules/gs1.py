"""Reading what a barcode scanner types from a medicine pack's GS1 DataMatrix (or its printed human-
readable text), for closed-loop administration. Pure: no database, no clock unless given one.

A keyboard-wedge scanner sends the symbol's data as keystrokes ending with Enter: sometimes behind a
symbology identifier (`]d2` for GS1 DataMatrix), with the FNC1 separators as the ASCII group
separator (GS, 29) or not at all. A nurse whose scanner fails may type the text under the code,
`(01)05012345678900(17)270600(10)AB12`. Both reach `parse_scan`, which returns the pack's GTIN and,
when present, its expiry (17), batch (10) and serial (21), or raises ScanError saying what is wrong.

Element strings follow the GS1 General Specifications: an application identifier (AI) then its value.
A fixed-length value needs no separator; a variable-length one (batch, serial) runs to the next GS or
to the end, so a code whose variable field is not last must separate it. Dates are YYMMDD with the
century chosen so the year lies within 49 years before to 50 years after today's; day 00 means the
last day of the month (packs printed "expires June 2027").
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

GS = "\x1d"
# Symbology identifiers a scanner may put in front: GS1 DataMatrix, GS1-128, GS1 QR, GS1 DataBar,
# and EAN/UPC (a plain product code, for a pack with only a linear barcode).
GS1_SYMBOLOGIES = {"]d2": "GS1 DataMatrix", "]C1": "GS1-128", "]Q3": "GS1 QR Code", "]e0": "GS1 DataBar"}
EAN_SYMBOLOGIES = {"]E0": "EAN-13", "]E4": "EAN-8"}


@dataclass(frozen=True)
class AI:
    code: str
    title: str
    length: int  # of the value: exact when fixed, the most when variable
    fixed: bool
    numeric: bool = False
    date: bool = False


# The application identifiers that appear on medicine packs and their shipping cases (NHS Scan4Safety,
# the EU Falsified Medicines Directive), and the few others a pharmacy code may carry. An AI outside
# this table is refused by name, not guessed at.
KNOWN_AIS = {
    ai.code: ai
    for ai in (
        AI("00", "SSCC", 18, fixed=True, numeric=True),
        AI("01", "GTIN", 14, fixed=True, numeric=True),
        AI("02", "GTIN of contained trade items", 14, fixed=True, numeric=True),
        AI("10", "batch or lot", 20, fixed=False),
        AI("11", "production date", 6, fixed=True, numeric=True, date=True),
        AI("15", "best before date", 6, fixed=True, numeric=True, date=True),
        AI("17", "expiry date", 6, fixed=True, numeric=True, date=True),
        AI("21", "serial number", 20, fixed=False),
        AI("22", "consumer product variant", 20, fixed=False),
        AI("240", "additional product identification", 30, fixed=False),
        AI("30", "variable count", 8, fixed=False, numeric=True),
        AI("37", "count of trade items", 8, fixed=False, numeric=True),
        AI("710", "national healthcare reimbursement number (Germany)", 20, fixed=False),
        AI("711", "national healthcare reimbursement number (France)", 20, fixed=False),
        AI("712", "national healthcare reimbursement number (Spain)", 20, fixed=False),
        AI("713", "national healthcare reimbursement number (Brazil)", 20, fixed=False),
        AI("714", "national healthcare reimbursement number (Portugal)", 20, fixed=False),
    )
}

# GS1's character set 82 for alphanumeric values: what a batch or serial may hold.
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$")
_HRI_ELEMENT = re.compile(r"\((\d{2,4})\)([^(]*)")


class ScanError(ValueError):
    """The scan cannot be read as a medicine pack's code; the message says why, for the nurse."""


@dataclass(frozen=True)
class PackScan:
    gtin: str  # always 14 digits
    expiry: date | None = None
    batch: str = ""
    serial: str = ""
    symbology: str = ""  # what the scanner said the symbol was, when it said
    elements: dict[str, str] = field(default_factory=dict)  # every AI read, with its raw value


def check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for the digits before it (weights 3, 1, 3... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def valid_check_digit(number: str) -> bool:
    return (
        number.isdigit()
        and number.isascii()
        and len(number) >= 2
        and check_digit(number[:-1]) == int(number[-1])
    )


def gtin14(number: str) -> str:
    """A GTIN-8, -12, -13 or -14 as the 14 digits dm+d and AI (01) hold, its check digit verified."""
    if not (number.isascii() and number.isdigit()) or len(number) not in (8, 12, 13, 14):
        raise ScanError(f"{number!r} is not a product code: a GTIN has 8, 12, 13 or 14 digits.")
    if not valid_check_digit(number):
        expected = check_digit(number[:-1])
        raise ScanError(
            f"The product code {number} has a wrong check digit (expected {expected}): "
            "scan it again or type it."
        )
    return number.zfill(14)


def gs1_date(value: str, *, today: date) -> date:
    """A YYMMDD value; DD 00 is the month's last day; the century as GS1 chooses it."""
    if len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise ScanError(f"The date {value!r} is not six digits (YYMMDD).")
    yy, month, day = int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12:
        raise ScanError(f"The date {value} has no month {month:02d}.")
    year = today.year // 100 * 100 + yy
    difference = yy - today.year % 100
    if difference >= 51:
        year -= 100
    elif difference <= -50:
        year += 100
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        return date(year, month, last)
    if day > last:
        raise ScanError(
            f"The date {value} is not a real day: {calendar.month_name[month]} {year} has {last} days."
        )
    return date(year, month, day)


def _strip(raw: str) -> tuple[str, str]:
    """The data with any symbology identifier taken off, and what that identifier named."""
    text = raw.strip(" \t\r\n")
    for prefix, name in {**GS1_SYMBOLOGIES, **EAN_SYMBOLOGIES}.items():
        if text.startswith(prefix):
            return text[len(prefix) :], name
    if text.startswith("]"):
        raise ScanError("The scanner sent a symbology this app does not read: scan the pack's 2D code.")
    return text, ""


def _ai_at(data: str, position: int) -> AI:
    for width in (2, 3, 4):
        ai = KNOWN_AIS.get(data[position : position + width])
        if ai is not None:
            return ai
    rest = data[position : position + 8]
    raise ScanError(f"The code holds {rest!r}, which is not a GS1 field this app knows.")


def _check_value(ai: AI, value: str) -> None:
    if not value:
        raise ScanError(f"The {ai.title} ({ai.code}) is empty.")
    if ai.fixed and len(value) != ai.length:
        raise ScanError(f"The {ai.title} ({ai.code}) should be {ai.length} characters, not {len(value)}.")
    if len(value) > ai.length:
        raise ScanError(f"The {ai.title} ({ai.code}) is longer than {ai.length} characters.")
    if ai.numeric and not (value.isascii() and value.isdigit()):
        raise ScanError(f"The {ai.title} ({ai.code}) must be digits only.")
    if not _CSET82.match(value):
        raise ScanError(f"The {ai.title} ({ai.code}) holds characters a GS1 code may not.")


def element_strings(data: str) -> list[tuple[AI, str]]:
    """The (AI, value) pairs of unbracketed GS1 data, separators as GS."""
    elements: list[tuple[AI, str]] = []
    position = 0
    while position < len(data):
        if data[position] == GS:  # a separator after a fixed field, or two in a row: harmless
            position += 1
            continue
        ai = _ai_at(data, position)
        start = position + len(ai.code)
        if ai.fixed:
            value = data[start : start + ai.length]
            position = start + ai.length
        else:
            end = data.find(GS, start)
            end = len(data) if end == -1 else end
            value = data[start:end]
            position = end
        _check_value(ai, value)
        elements.append((ai, value))
    return elements


def _hri_elements(text: str) -> list[tuple[AI, str]]:
    """Bracketed human-readable text, "(01)...(17)...", as typed from the pack."""
    elements: list[tuple[AI, str]] = []
    consumed = 0
    for match in _HRI_ELEMENT.finditer(text):
        if match.start() != consumed:
            break
        code, value = match.group(1), match.group(2).strip()
        ai = KNOWN_AIS.get(code)
        if ai is None:
            raise ScanError(f"({code}) is not a GS1 field this app knows.")
        _check_value(ai, value)
        elements.append((ai, value))
        consumed = match.end()
    if consumed != len(text):
        raise ScanError("Type the code as printed, each field in brackets: (01)GTIN(17)expiry(10)batch.")
    return elements


def parse_scan(raw: str, *, today: date) -> PackScan:
    """What a scan (or typed text) of a medicine pack says. Raises ScanError with the reason."""
    data, symbology = _strip(raw)
    if not data:
        raise ScanError("Nothing was scanned.")
    if symbology in EAN_SYMBOLOGIES.values() or (data.isdigit() and len(data) in (8, 12, 13, 14)):
        # A linear barcode, or a product code typed alone: the GTIN and nothing else.
        return PackScan(gtin=gtin14(data), symbology=symbology)
    elements = _hri_elements(data) if data.startswith("(") else element_strings(data.lstrip(GS))
    seen: dict[str, str] = {}
    for ai, value in elements:
        if seen.get(ai.code, value) != value:
            raise ScanError(f"The code holds two different values for the {ai.title} ({ai.code}).")
        seen[ai.code] = value
    if "01" not in seen:
        raise ScanError("The code has no product number (GTIN, field 01): scan the medicine pack's 2D code.")
    dates = {code: gs1_date(value, today=today) for code, value in seen.items() if KNOWN_AIS[code].date}
    return PackScan(
        gtin=gtin14(seen["01"]),
        expiry=dates.get("17"),
        batch=seen.get("10", ""),
        serial=seen.get("21", ""),
        symbology=symbology,
        elements=seen,
    )
