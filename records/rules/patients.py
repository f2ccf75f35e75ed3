"""Pure rules for patient identity: NHS number (Modulus 11), display formats, search keys, age."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

NHS_NUMBER_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


class InvalidNHSNumber(ValueError):
    pass


def normalise_nhs_number(value: str) -> str:
    """Drop the spaces and hyphens people type: '943 476 5919' -> '9434765919'."""
    return re.sub(r"[\s-]", "", value or "")


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit of nine digits, or None when the check value is 10 (never issued)."""
    total = sum(int(d) * w for d, w in zip(first_nine, NHS_NUMBER_WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def validate_nhs_number(value: str) -> str:
    """Return the ten-digit NHS number, or raise InvalidNHSNumber saying exactly what is wrong."""
    digits = normalise_nhs_number(value)
    if not digits:
        raise InvalidNHSNumber("Enter an NHS number.")
    if not (digits.isascii() and digits.isdecimal()):
        raise InvalidNHSNumber("An NHS number contains only digits (spaces are allowed).")
    if len(digits) != 10:
        raise InvalidNHSNumber(f"An NHS number has 10 digits; this has {len(digits)}.")
    check = nhs_number_check_digit(digits[:9])
    if check is None:
        raise InvalidNHSNumber(
            "This is not a valid NHS number: its check value is 10, which is never issued."
        )
    if check != int(digits[9]):
        raise InvalidNHSNumber(
            "This is not a valid NHS number: the check digit is wrong. Check for a typing error."
        )
    return digits


def is_valid_nhs_number(value: str) -> bool:
    try:
        validate_nhs_number(value)
    except InvalidNHSNumber:
        return False
    return True


def format_nhs_number(digits: str) -> str:
    """3 3 4 format, as on wristbands and banners."""
    if len(digits or "") != 10:
        return digits or ""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def search_key(text: str) -> str:
    """Case- and accent-insensitive form of a name for searching: 'Zoë O'Brien' -> 'zoe obrien'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = "".join(c for c in without_accents.casefold() if c.isalnum() or c.isspace())
    return " ".join(kept.split())


def age_on(date_of_birth: date, today: date) -> int:
    years = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def describe_age(date_of_birth: date | None, today: date, date_of_death: date | None = None) -> str:
    """Age as a clinician writes it: years from 2, else months, else days."""
    if date_of_birth is None:
        return "unknown"
    end = date_of_death or today
    years = age_on(date_of_birth, end)
    if years >= 2:
        return f"{years}y"
    months = (
        (end.year - date_of_birth.year) * 12 + end.month - date_of_birth.month - (end.day < date_of_birth.day)
    )
    if months >= 1:
        return f"{months}m"
    return f"{(end - date_of_birth).days}d"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def describe_duration(duration: timedelta) -> str:
    """A duration as people say it, to its two largest units: '6 days 18 hours', '1 hour 5 minutes',
    '45 minutes'. Seconds are dropped (a duration is never overstated). Under a minute, or negative
    (a set may be timed a few minutes ahead of the server clock), is 'less than a minute'."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _plural(days, "day") + (f" {_plural(hours, 'hour')}" if hours else "")
    if hours:
        return _plural(hours, "hour") + (f" {_plural(minutes, 'minute')}" if minutes else "")
    return _plural(minutes, "minute")


def describe_frequency(interval: timedelta) -> str:
    """How often something is due: 'every hour', 'every 4 hours', 'every 30 minutes'."""
    described = describe_duration(interval)
    if re.fullmatch(r"1 [a-z]+", described):  # "every hour", not "every 1 hour"
        return f"every {described[2:]}"
    return f"every {described}"


def describe_moment(moment: datetime, *, now: datetime) -> str:
    """A clock time with its day, in the time zone of `now`: '14:00 today', '09:30 yesterday',
    '02:00 tomorrow', '14:00 on 29 Nov', '14:00 on 29 Dec 2025' (the year only when it is not this one)."""
    local = moment.astimezone(now.tzinfo) if moment.tzinfo and now.tzinfo else moment
    days = (local.date() - now.date()).days
    date_text = f"{local.day} {local:%b}" + ("" if local.year == now.year else f" {local.year}")
    day = {0: "today", -1: "yesterday", 1: "tomorrow"}.get(days, f"on {date_text}")
    return f"{local:%H:%M} {day}"
