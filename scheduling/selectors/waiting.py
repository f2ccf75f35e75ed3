"""Reads of the waiting lists: who is waiting, sorted by who breaches the 18 weeks first, with weeks
waited and days to breach; and per specialty, how many wait in each week band of the monthly RTT
return (grouped for the page, the full bands behind). The waits come from breach_on, which the
services keep in step with each entry's clock events: under the current rules a clock never pauses,
so the clock started 126 days before the breach date. Constant queries however long the list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet

from records.models import Specialty
from scheduling.models import WaitingListEntry, WaitingStatus
from scheduling.rules.rtt import REPORTED_WEEKS, STANDARD_DAYS, WEEK_BANDS, week_band

ON_LIST = (WaitingStatus.WAITING, WaitingStatus.BOOKED)
NEAR_BREACH_DAYS = 14
# The groups the page shows, as completed weeks [from, to): the return's bands are behind each.
BAND_GROUPS = ((0, 6), (6, 12), (12, 18), (18, 52), (52, None))


def group_label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def days_waited(breach_on: date, today: date) -> int:
    return STANDARD_DAYS - (breach_on - today).days


@dataclass(frozen=True)
class WaitingRow:
    entry: WaitingListEntry
    days: int
    days_to_breach: int

    @property
    def weeks(self) -> int:
        return self.days // 7

    @property
    def extra_days(self) -> int:
        return self.days % 7

    @property
    def breached(self) -> bool:
        return self.days_to_breach <= 0

    @property
    def days_over(self) -> int:
        return max(0, -self.days_to_breach)

    @property
    def near_breach(self) -> bool:
        return 0 < self.days_to_breach <= NEAR_BREACH_DAYS

    @property
    def clock_started(self) -> date:
        return (
            self.entry.breach_on - timedelta(days=STANDARD_DAYS)
            if self.entry.breach_on
            else self.entry.added_at.date()
        )


def waiting_entries(specialty: str = "", kind: str = "") -> QuerySet[WaitingListEntry]:
    entries = WaitingListEntry.objects.filter(status__in=ON_LIST, breach_on__isnull=False)
    if specialty:
        entries = entries.filter(specialty=specialty)
    if kind:
        entries = entries.filter(kind=kind)
    return entries.select_related("patient", "referral").order_by("breach_on", "pk")


def waiting_rows(
    entries: QuerySet[WaitingListEntry] | list[WaitingListEntry], today: date
) -> list[WaitingRow]:
    return [
        WaitingRow(entry, days_waited(entry.breach_on, today), (entry.breach_on - today).days)
        for entry in entries
        if entry.breach_on is not None  # always, as waiting_entries filters
    ]


@dataclass
class SpecialtyCounts:
    specialty: str
    label: str
    total: int = 0
    breached: int = 0
    groups: dict[str, int] = field(default_factory=dict)
    bands: dict[str, int] = field(default_factory=dict)  # the return's bands, only those with waiters


def band_counts(today: date, kind: str = "") -> list[SpecialtyCounts]:
    """Per specialty, waiters by week band and by the page's groups of bands: one query."""
    entries = WaitingListEntry.objects.filter(status__in=ON_LIST, breach_on__isnull=False)
    if kind:
        entries = entries.filter(kind=kind)
    labels = dict(Specialty.choices)
    counts: dict[str, SpecialtyCounts] = {}
    bands: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(WEEK_BANDS, 0))
    for specialty, breach_on in entries.values_list("specialty", "breach_on"):
        if breach_on is None:  # filtered out above; keeps the type checker sure
            continue
        row = counts.setdefault(specialty, SpecialtyCounts(specialty, labels.get(specialty, specialty)))
        days = max(0, days_waited(breach_on, today))
        row.total += 1
        row.breached += days >= STANDARD_DAYS
        bands[specialty][week_band(days)] += 1
    for specialty, row in counts.items():
        row.bands = {band: n for band, n in bands[specialty].items() if n}
        row.groups = {
            group_label(low, high): _in_group(bands[specialty], low, high) for low, high in BAND_GROUPS
        }
    return sorted(counts.values(), key=lambda row: row.label)


def _in_group(bands: dict[str, int], low: int, high: int | None) -> int:
    last = REPORTED_WEEKS + 1 if high is None else high
    return sum(bands[WEEK_BANDS[week]] for week in range(low, min(last, len(WEEK_BANDS))))


def group_labels() -> list[str]:
    return [group_label(low, high) for low, high in BAND_GROUPS]
