"""When a dose may be given: the due times of a regular prescription, whether now is inside the window
around one, and whether an as-required dose respects its minimum interval and 24-hour maximum. Pure
functions of the times given; the trust's windows are the caller's settings.

Times of day are wall-clock times on the ward (Europe/London): a 08:00 dose is due at 08:00 in summer
and in winter. On the night the clocks go forward, a time that does not exist (01:30) is due when the
clock shows 02:30, 24 hours after the night before's; on the night they go back, a time that happens
twice is due once, the first time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

WARD_TIME = ZoneInfo("Europe/London")
DAY = timedelta(hours=24)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The moment `clock` on `day` is due, in UTC, honouring the clock changes as above."""
    # fold=0: the first of a repeated time; a missing time keeps the offset before the change.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def due_times(
    times_of_day: Sequence[time],
    *,
    start: datetime,
    stop: datetime | None,
    since: datetime,
    until: datetime,
    zone: ZoneInfo = WARD_TIME,
) -> list[datetime]:
    """Every due time of a regular prescription from `since` to `until` (both included), within its
    own start (included) and stop (excluded), oldest first."""
    first, last = max(start, since), min(stop, until) if stop is not None else until
    if first > last or not times_of_day:
        return []
    due: list[datetime] = []
    day = first.astimezone(zone).date() - timedelta(days=1)
    while day <= last.astimezone(zone).date():
        for clock in sorted(set(times_of_day)):
            moment = _at(day, clock, zone)
            if first <= moment <= last and (stop is None or moment < stop):
                due.append(moment)
        day += timedelta(days=1)
    return due


class Timing(StrEnum):
    EARLY = "early"  # before the window opens: refused
    ON_TIME = "on-time"
    LATE = "late"  # after the window closes: may be given, recorded as delayed


@dataclass(frozen=True)
class Window:
    """How long before and after its due time a dose counts as on time (trust policy)."""

    before: timedelta = timedelta(minutes=60)
    after: timedelta = timedelta(minutes=60)


def timing(due: datetime, now: datetime, window: Window) -> Timing:
    """Where `now` falls against the dose due at `due`: the window's edges count as on time."""
    if now < due - window.before:
        return Timing.EARLY
    if now > due + window.after:
        return Timing.LATE
    return Timing.ON_TIME


def too_early_message(due: datetime, window: Window, zone: ZoneInfo = WARD_TIME) -> str:
    opens = (due - window.before).astimezone(zone)
    return f"This dose is due at {due.astimezone(zone):%H:%M} and may be given from {opens:%H:%M}."


@dataclass(frozen=True)
class AsRequired:
    min_interval: timedelta | None  # at least this long after the last dose
    max_in_24_hours: int | None  # at most this many doses in any 24 hours


def as_required_refusal(
    given: Iterable[datetime], now: datetime, rule: AsRequired, zone: ZoneInfo = WARD_TIME
) -> str:
    """Why an as-required dose may not be given now, or "" if it may. `given` are the times doses of
    this prescription were given (any order). A dose exactly at the minimum interval may be given; a
    24-hour count takes the doses after now - 24 h, so one given exactly 24 hours ago no longer counts."""
    earlier = sorted(t for t in given if t <= now)
    if rule.min_interval is not None and earlier:
        last = earlier[-1]
        if now - last < rule.min_interval:
            next_at = (last + rule.min_interval).astimezone(zone)
            return (
                f"The last dose was given at {last.astimezone(zone):%H:%M}; doses must be at least "
                f"{_duration(rule.min_interval)} apart. The next may be given from {next_at:%H:%M}."
            )
    if rule.max_in_24_hours is not None:
        in_window = [t for t in earlier if t > now - DAY]
        if len(in_window) >= rule.max_in_24_hours:
            frees = in_window[len(in_window) - rule.max_in_24_hours] + DAY
            return (
                f"{len(in_window)} doses were given in the last 24 hours, the most allowed is "
                f"{rule.max_in_24_hours}. The next may be given from {frees.astimezone(zone):%d-%b %H:%M}."
            )
    return ""


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []) + (
        [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    )
    return " ".join(parts) or "0 minutes"


def weight_based_dose(per_kg: Decimal, weight_kg: Decimal, step: Decimal) -> Decimal:
    """The dose for a weight, rounded to the nearest measurable amount (`step`: a whole tablet's
    strength, 0.1 ml of a liquid...), halves rounded up, never rounded down to nothing."""
    if per_kg <= 0 or weight_kg <= 0 or step <= 0:
        raise ValueError("dose per kg, weight and step must be greater than zero")
    steps = (per_kg * weight_kg / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(steps, Decimal(1)) * step


ROUNDING_TOLERANCE = Decimal("0.1")


def too_far_from(exact: Decimal, rounded: Decimal, tolerance: Decimal = ROUNDING_TOLERANCE) -> bool:
    """Whether rounding to a measurable amount moved the dose more than `tolerance` (a tenth) of
    the calculated dose: then the product's strength is too coarse for this patient."""
    return abs(rounded - exact) > exact * tolerance


def infusion_rate(volume_ml: Decimal, minutes: int) -> Decimal:
    """ml/hour for a volume given over a number of minutes, to two decimal places."""
    if volume_ml <= 0 or minutes <= 0:
        raise ValueError("volume and duration must be greater than zero")
    return (volume_ml * 60 / minutes).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def infusion_minutes(volume_ml: Decimal, rate_ml_per_hour: Decimal) -> int:
    """The whole minutes a volume takes at a rate (rounded to the nearest minute)."""
    if volume_ml <= 0 or rate_ml_per_hour <= 0:
        raise ValueError("volume and rate must be greater than zero")
    return int((volume_ml * 60 / rate_ml_per_hour).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Step:
    starts: date
    dose: Decimal
    days: int


def stepped_course(start: date, steps: Sequence[tuple[Decimal, int]]) -> tuple[list[Step], date]:
    """A reducing (or increasing) course, each step a dose for a number of days from the day the
    one before ended; returns the steps with their first days, and the day after the course ends."""
    if not steps:
        raise ValueError("a stepped course needs at least one step")
    placed, day = [], start
    for dose, days in steps:
        if dose <= 0 or days <= 0:
            raise ValueError("each step needs a dose and a number of days greater than zero")
        placed.append(Step(day, dose, days))
        day += timedelta(days=days)
    return placed, day


def parse_steps(text: str) -> list[tuple[Decimal, int]]:
    """ "40 for 5 days", one a line (the unit is the prescription's; "days" or "day" optional). Raises
    ValueError naming the line it cannot read."""
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lower()
        if not line:
            continue
        parts = line.replace("days", "").replace("day", "").split("for")
        try:
            dose, days = Decimal(parts[0].split()[0]), int(parts[1].strip())
        except (IndexError, ValueError, ArithmeticError) as exc:
            raise ValueError(f'Step {number} ("{raw.strip()}") should read like "40 for 5 days".') from exc
        found.append((dose, days))
    return found
