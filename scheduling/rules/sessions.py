"""Clinic session templates and the sessions and slots they make: the dates a template falls on (weekly,
fortnightly from an anchor date, or the nth or last weekday of the month) within its valid dates, less
the bank holidays the caller passes; each session's start and end in UTC from its wall-clock times in
Europe/London; and its slots. Pure functions of the template and the dates given.

A clinic's times are wall-clock times in the hospital: a 09:00 clinic starts at 09:00 local time all
year, which is 08:00 UTC in summer (BST) and 09:00 UTC in winter (GMT). On the two clock-change days
(the last Sunday of March and of October, at 01:00 UTC) a wall-clock time can be missing or repeated:

- a time that does not exist on the spring day (01:00 to 01:59) is shifted forward by the hour the
  clocks skip: 01:30 becomes 02:30 BST, the moment 01:30 GMT would have been;
- a time that happens twice on the autumn day (01:00 to 01:59) is taken the first time, in BST.

Both are Python's fold=0, as for dose times (prescribing/rules/doses.py). A session's length and its
slots are real elapsed time from its start, so a session that spans the change that night is an hour
shorter (spring) or longer (autumn) than its wall-clock times say; if its end, so placed, is not after
its start (01:30 to 02:15 on the spring day) it is not held that day and `sessions` leaves it out.
Sessions never cross midnight: the end is after the start on the same wall-clock day.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

CLINIC_TIME = ZoneInfo("Europe/London")
LAST = -1  # `nth` for the last such weekday of the month (the 4th or the 5th)
WEEK = timedelta(days=7)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Recurrence(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"  # every other week, counted from `anchor`
    MONTHLY = "monthly"  # the `nth` weekday of each month, or the last


@dataclass(frozen=True)
class UniformSlots:
    """Slots of one length and type, one after another until the session is full."""

    minutes: int
    kind: str


# An explicit pattern: each slot's length in minutes and its type (the caller's code, e.g. "new",
# "follow-up", "pre-op", "telephone"), laid once from the start of the session.
SlotPattern = tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class SessionTemplate:
    """How a clinic's sessions repeat. `weekday` is date.weekday() (0 Monday to 6 Sunday); `starts` and
    `ends` are naive wall-clock times in Europe/London; `valid_until` is included. Fortnightly needs an
    `anchor`: a date of one of its sessions (before or after `valid_from`). Monthly needs `nth`, 1 to 4
    or LAST. Invalid values raise ValueError when the template is made."""

    weekday: int
    starts: time
    ends: time
    valid_from: date
    valid_until: date | None = None
    recurrence: Recurrence = Recurrence.WEEKLY
    anchor: date | None = None
    nth: int | None = None
    slots: SlotPattern | UniformSlots = field(default=())

    def __post_init__(self) -> None:
        # Callers may pass a list of pairs; keep the template hashable and immutable.
        if not isinstance(self.slots, UniformSlots):
            object.__setattr__(self, "slots", tuple((minutes, kind) for minutes, kind in self.slots))
        _validate(self)


def _validate(template: SessionTemplate) -> None:
    if isinstance(template.weekday, bool) or template.weekday not in range(7):
        raise ValueError(f"The weekday must be 0 (Monday) to 6 (Sunday), not {template.weekday!r}.")
    if template.starts.tzinfo is not None or template.ends.tzinfo is not None:
        raise ValueError("Session times are wall-clock times in Europe/London: give them without a zone.")
    if template.ends <= template.starts:
        raise ValueError(
            f"The session must end after it starts: {template.starts:%H:%M} to {template.ends:%H:%M}."
        )
    if template.valid_until is not None and template.valid_until < template.valid_from:
        raise ValueError(
            f"The template is valid until {template.valid_until:%d-%b-%Y}, "
            f"before it is valid from {template.valid_from:%d-%b-%Y}."
        )
    recurrence = Recurrence(template.recurrence)  # a bad value raises ValueError naming it
    if recurrence is Recurrence.FORTNIGHTLY:
        if template.anchor is None:
            raise ValueError("A fortnightly session needs an anchor date: the date of one of its sessions.")
        if template.anchor.weekday() != template.weekday:
            raise ValueError(
                f"The anchor {template.anchor:%d-%b-%Y} is a {WEEKDAYS[template.anchor.weekday()]}, "
                f"but the session is on {WEEKDAYS[template.weekday]}s."
            )
    elif template.anchor is not None:
        raise ValueError("Only a fortnightly session has an anchor date.")
    if recurrence is Recurrence.MONTHLY:
        if isinstance(template.nth, bool) or template.nth not in (1, 2, 3, 4, LAST):
            raise ValueError(
                f"A monthly session is on the 1st, 2nd, 3rd, 4th or last weekday: nth must be 1 to 4 "
                f"or LAST ({LAST}), not {template.nth!r}."
            )
    elif template.nth is not None:
        raise ValueError("Only a monthly session has an nth weekday.")
    pattern = (
        [(template.slots.minutes, template.slots.kind)]
        if isinstance(template.slots, UniformSlots)
        else template.slots
    )
    for minutes, kind in pattern:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
            raise ValueError(f"A slot's length must be a whole number of minutes above 0, not {minutes!r}.")
        if not kind:
            raise ValueError("Every slot needs a type.")


def falls_on(template: SessionTemplate, day: date) -> bool:
    """Whether the template has a session on `day` (its valid dates and recurrence; not holidays)."""
    if day.weekday() != template.weekday or day < template.valid_from:
        return False
    if template.valid_until is not None and day > template.valid_until:
        return False
    if template.recurrence == Recurrence.FORTNIGHTLY:
        anchor = template.anchor or template.valid_from  # always set: checked when the template was made
        return (day - anchor).days % 14 == 0  # either side of the anchor
    if template.recurrence == Recurrence.MONTHLY:
        if template.nth == LAST:
            return (day + WEEK).month != day.month
        return (day.day - 1) // 7 + 1 == template.nth
    return True


def session_dates(
    template: SessionTemplate, first: date, last: date, *, skip: Collection[date] = frozenset()
) -> list[date]:
    """The dates from `first` to `last` (both included) the template has a session on, less the dates in
    `skip` (bank holidays, a closure), oldest first."""
    if last < first:
        raise ValueError(f"The range ends ({last:%d-%b-%Y}) before it starts ({first:%d-%b-%Y}).")
    first = max(first, template.valid_from)
    if template.valid_until is not None:
        last = min(last, template.valid_until)
    day = first + timedelta(days=(template.weekday - first.weekday()) % 7)
    found: list[date] = []
    while day <= last:  # one step a week: only the template's weekday can match
        if day not in skip and falls_on(template, day):
            found.append(day)
        day += WEEK
    return found


def _utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # fold=0: a repeated time is the first one; a missing time keeps the offset before the change, so
    # it lands the skipped hour later on the clock (module docstring).
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def session_times(
    template: SessionTemplate, day: date, zone: ZoneInfo = CLINIC_TIME
) -> tuple[datetime, datetime]:
    """The start and end in UTC of the template's session on `day` (any day: not checked against the
    recurrence). On the spring clock-change day the end may not be after the start (module docstring)."""
    return _utc(day, template.starts, zone), _utc(day, template.ends, zone)


@dataclass(frozen=True)
class Session:
    day: date  # the wall-clock date in Europe/London
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC


def sessions(
    template: SessionTemplate,
    first: date,
    last: date,
    *,
    skip: Collection[date] = frozenset(),
    zone: ZoneInfo = CLINIC_TIME,
) -> list[Session]:
    """The template's sessions from `first` to `last` (both included), less the dates in `skip`."""
    found: list[Session] = []
    for day in session_dates(template, first, last, skip=skip):
        starts_at, ends_at = session_times(template, day, zone)
        if ends_at > starts_at:  # no time at all that day (see the module docstring)
            found.append(Session(day, starts_at, ends_at))
    return found


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    kind: str


def session_slots(template: SessionTemplate, session: Session) -> list[Slot]:
    """The slots of a session, in order: uniform slots repeated until the session is full, or the
    explicit pattern laid once. A slot that would run past the end of the session is not made (nor any
    after it), so time left over at the end stays free."""
    pattern: Sequence[tuple[int, str]]
    if isinstance(template.slots, UniformSlots):
        length = session.ends_at - session.starts_at
        count = length // timedelta(minutes=template.slots.minutes)
        pattern = [(template.slots.minutes, template.slots.kind)] * count
    else:
        pattern = template.slots
    made: list[Slot] = []
    at = session.starts_at
    for minutes, kind in pattern:
        ends = at + timedelta(minutes=minutes)
        if ends > session.ends_at:
            break
        made.append(Slot(at, ends, kind))
        at = ends
    return made


# England and Wales bank holidays as published on gov.uk; other years are the caller's to supply (a
# year can gain a one-off holiday, as 2022 and 2023 did, so they are not computed).
ENGLAND_AND_WALES_BANK_HOLIDAYS: dict[date, str] = {
    date(2026, 1, 1): "New Year's Day",
    date(2026, 4, 3): "Good Friday",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 4): "Early May bank holiday",
    date(2026, 5, 25): "Spring bank holiday",
    date(2026, 8, 31): "Summer bank holiday",
    date(2026, 12, 25): "Christmas Day",
    date(2026, 12, 28): "Boxing Day (substitute day)",
    date(2027, 1, 1): "New Year's Day",
    date(2027, 3, 26): "Good Friday",
    date(2027, 3, 29): "Easter Monday",
    date(2027, 5, 3): "Early May bank holiday",
    date(2027, 5, 31): "Spring bank holiday",
    date(2027, 8, 30): "Summer bank holiday",
    date(2027, 12, 27): "Christmas Day (substitute day)",
    date(2027, 12, 28): "Boxing Day (substitute day)",
}
BANK_HOLIDAY_YEARS = frozenset(day.year for day in ENGLAND_AND_WALES_BANK_HOLIDAYS)


def bank_holidays(*years: int) -> frozenset[date]:
    """England and Wales bank holidays in the years given (2026 and 2027 are known here)."""
    unknown = sorted(set(years) - BANK_HOLIDAY_YEARS)
    if unknown:
        raise ValueError(
            f"Bank holidays are known here for {', '.join(map(str, sorted(BANK_HOLIDAY_YEARS)))} only, "
            f"not {', '.join(map(str, unknown))}: pass them in."
        )
    return frozenset(day for day in ENGLAND_AND_WALES_BANK_HOLIDAYS if day.year in years)
