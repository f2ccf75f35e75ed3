"""The bed board's reads: every ward's beds with their state (occupied from records' current WardStay,
otherwise the bed's own BedState, allocated when promised to a request, else free), the open bed
requests, the beds a request may be given, and occupancy today and over a date range.

Names are shown only to someone who may see the patient: a care relationship (or break-glass), or a
role that sees every ward (records.access.sees_by_role); anyone else sees "Occupied". Each read is a
fixed number of queries whatever the number of wards, beds and requests."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from records.access import patients_with_care_relationship, sees_by_role
from records.models import Bed, Patient, Specialty, Ward, WardStay
from scheduling.models import BedCondition, BedRequest, BedRequestStatus, BedState

# Free beds first, as a bed manager looks for them; then the ones soon free; occupied; out of use.
STATE_ORDER = {"free": 0, "cleaning": 1, "allocated": 2, "occupied": 3, "blocked": 4, "closed": 5}
STATE_LABELS = {
    "free": "Free",
    "cleaning": "Awaiting cleaning",
    "allocated": "Allocated",
    "occupied": "Occupied",
    "blocked": "Blocked",
    "closed": "Closed",
}
OPEN = (BedRequestStatus.WAITING, BedRequestStatus.ALLOCATED)
LONGEST_RANGE = 93  # days: a quarter is the longest occupancy range asked for in one go


@dataclass(frozen=True)
class BedCell:
    bed: Bed
    state: str
    stay: WardStay | None = None
    condition: BedState | None = None
    allocated_to: BedRequest | None = None
    name_shown: bool = False

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def patient(self) -> Patient | None:
        return self.stay.encounter.patient if self.stay else None

    @property
    def expected_discharge(self) -> date | None:
        return self.stay.encounter.expected_discharge_date if self.stay else None

    @property
    def version(self) -> int:
        return self.condition.version if self.condition else 0


@dataclass(frozen=True)
class WardBoard:
    ward: Ward
    cells: list[BedCell]

    def count(self, state: str) -> int:
        return sum(1 for c in self.cells if c.state == state)

    @property
    def free(self) -> int:
        return self.count("free")

    @property
    def occupied(self) -> int:
        return self.count("occupied")

    @property
    def cleaning(self) -> int:
        return self.count("cleaning")

    @property
    def allocated(self) -> int:
        return self.count("allocated")

    @property
    def out_of_use(self) -> int:
        return self.count("blocked") + self.count("closed")


@dataclass(frozen=True)
class RequestRow:
    request: BedRequest
    name_shown: bool


@dataclass(frozen=True)
class Board:
    wards: list[WardBoard]
    waiting: list[RequestRow]
    allocated: list[RequestRow]
    patient_ids: list[int] = field(default_factory=list)  # every patient the board names

    @property
    def hidden_names(self) -> bool:
        """Whether some patient on the board is shown without a name (to explain why)."""
        rows = [r for r in (*self.waiting, *self.allocated) if not r.name_shown]
        return bool(rows) or any(c.stay and not c.name_shown for w in self.wards for c in w.cells)


def _visible(user: Any, patients: list[Patient]) -> set[int]:
    if sees_by_role(user):
        return {p.pk for p in patients}
    return patients_with_care_relationship(user, patients)


def _cell(bed: Bed, stay: WardStay | None, promised: BedRequest | None, names: set[int]) -> BedCell:
    state = getattr(bed, "board_state", None)  # the reverse one-to-one: absent when no row
    if stay is not None:  # occupancy is records' alone: a bed with a patient is occupied, whatever else
        shown = stay.encounter.patient_id in names
        return BedCell(bed=bed, state="occupied", stay=stay, condition=state, name_shown=shown)
    if state is not None and state.condition != BedCondition.AVAILABLE:
        return BedCell(bed=bed, state=state.condition, condition=state)
    if promised is not None:
        shown = promised.patient_id in names
        return BedCell(bed=bed, state="allocated", condition=state, allocated_to=promised, name_shown=shown)
    return BedCell(bed=bed, state="free", condition=state)


def _sorted(cells: list[BedCell]) -> list[BedCell]:
    return sorted(
        cells, key=lambda c: (STATE_ORDER[c.state], c.bed.bay.name if c.bed.bay else "", c.bed.label)
    )


def board_wards(ward_id: int | None = None) -> QuerySet[Ward]:
    wards = Ward.objects.filter(active=True).select_related("site").order_by("site__name", "name")
    return wards.filter(pk=ward_id) if ward_id else wards


def bed_board(user: Any, *, ward_id: int | None = None) -> Board:
    """The whole board (or one ward's): 4 queries, plus 2 for a clinician's care relationships."""
    wards = list(board_wards(ward_id))
    ward_ids = [w.pk for w in wards]
    beds = list(
        Bed.objects.filter(ward_id__in=ward_ids, active=True)
        .select_related("bay", "board_state")
        .order_by("bay__name", "label")
    )
    stays = {
        s.bed_id: s
        for s in WardStay.objects.filter(
            ward_id__in=ward_ids, ended_at__isnull=True, bed__isnull=False
        ).select_related("encounter__patient")
    }
    requests = list(
        BedRequest.objects.filter(status__in=OPEN)
        .select_related("patient", "from_ward", "wanted_ward", "bed__ward", "bed__bay")
        .order_by("-urgent", "requested_at", "pk")
    )
    patients = [s.encounter.patient for s in stays.values()] + [r.patient for r in requests]
    names = _visible(user, patients)
    promised = {r.bed_id: r for r in requests if r.status == BedRequestStatus.ALLOCATED}
    by_ward: dict[int, list[BedCell]] = defaultdict(list)
    for bed in beds:
        by_ward[bed.ward_id].append(_cell(bed, stays.get(bed.pk), promised.get(bed.pk), names))
    rows = [RequestRow(r, r.patient_id in names) for r in requests]
    return Board(
        wards=[WardBoard(ward=w, cells=_sorted(by_ward[w.pk])) for w in wards],
        waiting=[r for r in rows if r.request.status == BedRequestStatus.WAITING],
        allocated=[r for r in rows if r.request.status == BedRequestStatus.ALLOCATED],
        patient_ids=sorted({p.pk for p in patients if p.pk in names}),
    )


def free_beds(*, but_for: BedRequest | None = None) -> list[Bed]:
    """Beds a request may be given: active, on an active ward, nobody in them, available (no state
    row, or available) and promised to no other request; one query."""
    promised = BedRequest.objects.filter(bed=OuterRef("pk"), status=BedRequestStatus.ALLOCATED)
    if but_for is not None:
        promised = promised.exclude(pk=but_for.pk)
    return list(
        Bed.objects.filter(active=True, ward__active=True)
        .exclude(Exists(WardStay.objects.filter(bed=OuterRef("pk"), ended_at__isnull=True)))
        .exclude(Exists(promised))
        .filter(Q(board_state__isnull=True) | Q(board_state__condition=BedCondition.AVAILABLE))
        .select_related("ward__site", "bay")
        .order_by("ward__site__name", "ward__name", "bay__name", "label")
    )


def open_request(request_id: int) -> BedRequest:
    return BedRequest.objects.select_related(
        "patient", "from_ward", "wanted_ward", "bed__ward", "bed__bay", "requested_by"
    ).get(pk=request_id)


def bed_for_board(bed_id: int) -> tuple[BedCell, list[Any]]:
    """One bed's cell (for its page) with its state's history, newest first; 4 queries."""
    bed = Bed.objects.select_related("ward", "bay", "board_state").get(pk=bed_id)
    stay = (
        WardStay.objects.filter(bed=bed, ended_at__isnull=True).select_related("encounter__patient").first()
    )
    promised = (
        BedRequest.objects.filter(bed=bed, status=BedRequestStatus.ALLOCATED)
        .select_related("patient")
        .first()
    )
    history = list(
        BedState.history.filter(bed_id=bed.pk).select_related("changed_by").order_by("-history_date")[:10]
    )
    return _cell(bed, stay, promised, set()), history


# --- occupancy ---


@dataclass(frozen=True)
class Occupancy:
    label: str
    occupied: float  # beds (today) or bed-days (over a range)
    available: float

    @property
    def percent(self) -> int | None:
        return round(100 * self.occupied / self.available) if self.available else None


def _beds_per_ward() -> dict[int, int]:
    return dict(
        Bed.objects.filter(active=True, ward__active=True)
        .values("ward_id")
        .annotate(n=Count("pk"))
        .values_list("ward_id", "n")
    )


def occupancy_today() -> tuple[list[Occupancy], list[Occupancy], Occupancy]:
    """Occupied beds out of active beds now, by ward and by the admitting specialty, and the total;
    3 queries."""
    occupied = WardStay.objects.filter(ward=OuterRef("pk"), ended_at__isnull=True, bed__isnull=False)
    counted = occupied.order_by().values("ward").annotate(n=Count("pk")).values("n")
    wards = list(
        Ward.objects.filter(active=True)
        .annotate(taken=Coalesce(Subquery(counted, output_field=IntegerField()), 0))
        .select_related("site")
        .order_by("site__name", "name")
    )
    beds = _beds_per_ward()
    total = sum(beds.values())
    by_ward = [Occupancy(w.name, w.taken, beds.get(w.pk, 0)) for w in wards]
    by_specialty = [
        Occupancy(Specialty(row["encounter__specialty"]).label, row["n"], total)
        for row in WardStay.objects.filter(ended_at__isnull=True, bed__isnull=False, ward__active=True)
        .values("encounter__specialty")
        .annotate(n=Count("pk"))
        .order_by("-n", "encounter__specialty")
    ]
    return by_ward, by_specialty, Occupancy("All wards", sum(w.taken for w in wards), total)


@dataclass(frozen=True)
class OccupancyRange:
    days: list[tuple[date, Occupancy]]
    by_ward: list[Occupancy]
    by_specialty: list[Occupancy]


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def occupancy_range(start: date, end: date) -> OccupancyRange:
    """Bed-days occupied (a stay's share of each local day, so a 23- or 25-hour day counts as one)
    against the beds in use, per day, by ward and by specialty, from WardStay history; 3 queries.
    Beds in use are today's: bed numbers are not kept over time."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    bounds = [_day_bounds(d) for d in days]
    range_start, range_end = bounds[0][0], bounds[-1][1]
    stays = WardStay.objects.filter(bed__isnull=False, started_at__lt=range_end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=range_start)
    )
    now = timezone.now()
    per_day = [0.0] * len(days)
    per_ward: dict[int, float] = defaultdict(float)
    per_specialty: dict[str, float] = defaultdict(float)
    for ward_id, specialty, began, ended in stays.values_list(
        "ward_id", "encounter__specialty", "started_at", "ended_at"
    ):
        until = min(ended or now, now)
        for i, (day_start, day_end) in enumerate(bounds):
            overlap = (min(until, day_end) - max(began, day_start)).total_seconds()
            if overlap > 0:
                share = overlap / (day_end - day_start).total_seconds()
                per_day[i] += share
                per_ward[ward_id] += share
                per_specialty[specialty] += share
    beds = _beds_per_ward()
    total = sum(beds.values())
    wards = Ward.objects.filter(active=True).order_by("site__name", "name").values_list("pk", "name")
    return OccupancyRange(
        days=[(d, Occupancy(f"{d:%d-%b-%Y}", round(per_day[i], 1), total)) for i, d in enumerate(days)],
        by_ward=[Occupancy(name, round(per_ward[pk], 1), beds.get(pk, 0) * len(days)) for pk, name in wards],
        by_specialty=[
            Occupancy(Specialty(code).label, round(n, 1), total * len(days))
            for code, n in sorted(per_specialty.items(), key=lambda item: -item[1])
        ],
    )
