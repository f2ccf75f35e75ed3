"""The parts of a FHIR search that every resource type shares: checking the parameters, _count and
_offset paging, date parameters, and the page of results."""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Generic, TypeVar

from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from epr.fhir.errors import FHIRError, invalid_value
from epr.parsing import ascii_int

MAX_OFFSET = 10**9

T = TypeVar("T")


@dataclass(frozen=True)
class SearchPage(Generic[T]):
    total: int  # matching resources, on every page
    items: list[T]  # this page's, in order


# One search's cost grows with its values: bound them (each repeat counts, and each comma-separated
# value within one), so a long query string cannot hold a worker for seconds.
MAX_PARAMETERS = 30
MAX_VALUES = 20


def bounded_query(query: QueryDict) -> QueryDict:
    """The query with repeated values dropped (a repeat of a parameter, or of a value within its
    comma-separated list, searches for nothing more); too many parameters or values are refused."""
    pairs = sum(len(values) for _, values in query.lists())
    if pairs > MAX_PARAMETERS:
        raise FHIRError(
            f"The search has {pairs:,} parameters: at most {MAX_PARAMETERS} are allowed, counting repeats.",
            code="too-costly",
        )
    bounded = QueryDict(mutable=True)
    for name, values in query.lists():
        count = sum(value.count(",") + 1 for value in values)
        if count > MAX_VALUES:
            raise invalid_value(
                f"{name:.40} has {count:,} values: at most {MAX_VALUES} are allowed for one parameter, "
                "counting repeats and comma-separated values.",
                name[:40],
                code="too-costly",
            )
        distinct = dict.fromkeys(",".join(dict.fromkeys(value.split(","))) for value in values)
        bounded.setlist(name, list(distinct))
    bounded._mutable = False
    return bounded


def check_parameters(query: QueryDict, supported: Set[str], *, repeatable: Set[str] = frozenset()) -> None:
    """Refuse parameters the search does not know, and a repeat of any that may not repeat."""
    unknown = sorted(set(query) - supported)
    if unknown:
        raise FHIRError(
            f"Unsupported search parameter(s): {', '.join(unknown)}. "
            f"Supported: {', '.join(sorted(supported))}.",
            code="not-supported",
        )
    repeated = sorted(k for k in query if k not in repeatable and len(query.getlist(k)) > 1)
    if repeated:
        # Where some parameters may repeat, the message names these as the ones that may not.
        which = "each of these search parameters" if repeatable else "each search parameter"
        raise FHIRError(f"Give {which} once: {', '.join(repeated)}.", code="not-supported")


def whole_number(
    query: QueryDict, name: str, default: int, *, minimum: int, maximum: int = MAX_OFFSET
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    number = ascii_int(raw, maximum=maximum)
    if number is None or number < minimum:
        raise invalid_value(f"{name} must be a whole number from {minimum} to {maximum}.", name)
    return number


def paging(query: QueryDict, default_count: int, max_count: int) -> tuple[int, int]:
    """(_count, _offset): the page size, at most max_count, and the index of the page's first result."""
    count = min(whole_number(query, "_count", default_count, minimum=1), max_count)
    return count, whole_number(query, "_offset", 0, minimum=0)


# --- Date parameters ------------------------------------------------------------------------------

_DATE = re.compile(
    r"^(?P<prefix>eq|ge|le|gt|lt)?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    return moment.replace(year=moment.year + month // 12, month=month % 12 + 1)


def _zone(text: str) -> dt_timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    return dt_timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def date_range(raw: str) -> tuple[str, datetime, datetime]:
    """(prefix, start, end) of the instant range a FHIR date value stands for, at its precision.

    A value without a time zone is Europe/London time, as people in the hospital mean it.
    """
    match = _DATE.match(raw.replace(" ", "+"))  # an unencoded + arrives as a space
    if match is None:
        raise invalid_value(
            "date must be [eq|ge|le|gt|lt]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]], e.g. ge2025-01-31.", "date"
        )
    g = match.groupdict()
    try:
        start, end = _instant_range(g)
    except (ValueError, OverflowError) as exc:  # month 13, 30 February, year 10000, zone +99:00
        raise invalid_value(f"date {raw!r} is not a real date and time.", "date") from exc
    return g["prefix"] or "eq", start, end


def _instant_range(g: dict[str, str | None]) -> tuple[datetime, datetime]:
    naive = datetime(  # noqa: DTZ001 - the zone is added just below
        int(g["year"] or 0),  # the pattern always matches a year
        int(g["month"] or 1),
        int(g["day"] or 1),
        int(g["hour"] or 0),
        int(g["minute"] or 0),
        int(g["second"] or 0),
    )
    start = naive.replace(tzinfo=_zone(g["tz"])) if g["tz"] else timezone.make_aware(naive)
    if g["second"]:
        end = start + timedelta(seconds=1)
    elif g["minute"]:
        end = start + timedelta(minutes=1)
    elif g["day"]:
        # A zone comes only with a time, so whole days, months and years are London's.
        end = timezone.make_aware(naive + timedelta(days=1))
    elif g["month"]:
        end = timezone.make_aware(_add_months(naive, 1))
    else:
        end = timezone.make_aware(naive.replace(year=naive.year + 1))
    start.astimezone(UTC)  # raises now, not in the database, if it cannot be stored
    return start, end


def instant_q(column: str, raw: str) -> Q:
    """A date-time column against a FHIR date parameter value."""
    prefix, start, end = date_range(raw)
    return {
        "eq": Q(**{f"{column}__gte": start, f"{column}__lt": end}),
        "ge": Q(**{f"{column}__gte": start}),
        "gt": Q(**{f"{column}__gte": end}),
        "le": Q(**{f"{column}__lt": end}),
        "lt": Q(**{f"{column}__lt": start}),
    }[prefix]
