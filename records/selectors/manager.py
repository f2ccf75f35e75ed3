"""Reads for managers' pages: the bed state of every ward, the break-glass uses to review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import groupby

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from records.models import Bed, BreakGlassAccess, EncounterStatus, Site, Ward, WardStay


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT(*) as a column, so every ward's figures come back in one query."""
    counted = queryset.order_by().values("ward").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _today() -> tuple[datetime, datetime]:
    """Midnight to midnight, local time, as aware datetimes (so the indexes on timestamps serve)."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class WardState:
    ward: Ward
    beds: int
    occupied_beds: int
    patients: int
    admissions_today: int
    discharges_today: int

    @property
    def free(self) -> int:
        return max(self.beds - self.occupied_beds, 0)

    @property
    def without_bed(self) -> int:
        """Patients on the ward but not in one of its beds (waiting for a bed, or in a chair)."""
        return max(self.patients - self.occupied_beds, 0)


@dataclass(frozen=True)
class SiteState:
    site: Site
    wards: list[WardState]

    # The site's totals, for the table's last row.
    @property
    def beds(self) -> int:
        return sum(w.beds for w in self.wards)

    @property
    def free(self) -> int:
        return sum(w.free for w in self.wards)

    @property
    def occupied_beds(self) -> int:
        return sum(w.occupied_beds for w in self.wards)

    @property
    def without_bed(self) -> int:
        return sum(w.without_bed for w in self.wards)

    @property
    def admissions_today(self) -> int:
        return sum(w.admissions_today for w in self.wards)

    @property
    def discharges_today(self) -> int:
        return sum(w.discharges_today for w in self.wards)


def bed_state() -> list[SiteState]:
    """Every active ward with its beds, free beds, patients, admissions and discharges today, grouped
    by site; one query whatever the number of wards."""
    start, end = _today()
    current = WardStay.objects.filter(ward=OuterRef("pk"), ended_at__isnull=True)
    wards = (
        Ward.objects.filter(active=True)
        .select_related("site")
        .annotate(
            n_beds=_count(Bed.objects.filter(ward=OuterRef("pk"), active=True)),
            n_occupied=_count(current.filter(bed__isnull=False)),
            n_patients=_count(current),
            # An admission's first ward stay starts when the patient was admitted.
            n_admitted=_count(
                WardStay.objects.filter(
                    ward=OuterRef("pk"),
                    started_at__gte=start,
                    started_at__lt=end,
                    started_at=F("encounter__admitted_at"),
                )
            ),
            # A discharge ends the encounter's last ward stay at the moment of discharge.
            n_discharged=_count(
                WardStay.objects.filter(
                    ward=OuterRef("pk"),
                    ended_at__gte=start,
                    ended_at__lt=end,
                    encounter__status=EncounterStatus.FINISHED,
                    ended_at=F("encounter__discharged_at"),
                )
            ),
        )
        .order_by("site__name", "name")
    )
    states = [
        WardState(
            ward=w,
            beds=w.n_beds,
            occupied_beds=w.n_occupied,
            patients=w.n_patients,
            admissions_today=w.n_admitted,
            discharges_today=w.n_discharged,
        )
        for w in wards
    ]
    return [
        SiteState(site=site, wards=list(rows)) for site, rows in groupby(states, key=lambda s: s.ward.site)
    ]


def break_glass_uses() -> QuerySet[BreakGlassAccess]:
    """Newest first, unreviewed and reviewed, with who used it, on whom and who reviewed it."""
    return BreakGlassAccess.objects.select_related("user", "patient", "reviewed_by").order_by(
        "-started_at", "-pk"
    )


def break_glass_use(use_id: int) -> BreakGlassAccess | None:
    return break_glass_uses().filter(pk=use_id).first()
