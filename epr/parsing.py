"""Small, strict parsers for values that arrive from outside (query strings, forms, FHIR bodies)."""

from __future__ import annotations

from datetime import datetime


def ascii_int(text: object, *, maximum: int = 2**31 - 1) -> int | None:
    """A non-negative whole number written in ASCII digits, or None.

    str.isdigit() accepts '²' and other digits int() refuses, and PostgreSQL refuses numbers past its
    integer types: both would otherwise reach the database as a 500."""
    if not isinstance(text, str) or not text.isascii() or not text.isdecimal():
        return None
    value = int(text)
    return value if value <= maximum else None


def has_nul(text: str) -> bool:
    # PostgreSQL text cannot hold NUL; refuse it at the edge rather than fail in the database.
    return "\x00" in text


def parse_local_datetime(text: str) -> datetime | None:
    """An ISO date-time, or None when it is not a real moment (month 13, 25:00, offset +99:00)."""
    try:
        return datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
