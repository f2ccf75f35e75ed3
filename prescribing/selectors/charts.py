"""What the drug chart, the medication round and the administration screen read: each prescription
with its doses for a day (due, overdue, given, not given, to come) and what was given against each.
Query counts do not grow with the number of prescriptions or patients."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from prescribing import policy
from prescribing.models import (
    Administration,
    AdministrationOutcome,
    AntimicrobialReview,
    PharmacyReview,
    Prescription,
    PrescriptionKind,
    PrescriptionStatus,
)
from prescribing.rules import checks, doses
from prescribing.rules.antimicrobials import ReviewState, review_state
from prescribing.services.administration import due_times_of
from records.models import ENTERED_IN_ERROR, Patient, Ward, WardStay


class DoseState(StrEnum):
    GIVEN = "given"
    NOT_GIVEN = "not-given"
    OVERDUE = "overdue"  # its window has closed and nothing is recorded
    DUE = "due"  # inside its window now
    LATER = "later"  # not yet due
    MISSED_STOPPED = "stopped"  # due after the prescription stopped: nothing to give


STATE_LABELS = {
    DoseState.GIVEN: "Given",
    DoseState.NOT_GIVEN: "Not given",
    DoseState.OVERDUE: "Overdue",
    DoseState.DUE: "Due now",
    DoseState.LATER: "Later",
}


@dataclass(frozen=True)
class Dose:
    due_at: datetime | None
    state: DoseState
    record: Administration | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, "")


@dataclass
class ChartRow:
    prescription: Prescription
    doses: list[Dose] = field(default_factory=list)
    as_required_given: list[Administration] = field(default_factory=list)
    antimicrobial: bool = False
    review: ReviewState | None = None  # an antimicrobial's review: due now, or when
    dose_on_day: Decimal | None = None  # a stepped course's dose on the day shown

    @property
    def needs_action(self) -> int:
        return sum(1 for d in self.doses if d.state in (DoseState.DUE, DoseState.OVERDUE))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The ward's day (Europe/London midnight to midnight) in UTC."""
    start = datetime.combine(day, time(0), tzinfo=doses.WARD_TIME)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=doses.WARD_TIME) - timedelta(seconds=1)
    return start, end


# What the round shows of each prescription and dose: the chart shows everything, the round (30 beds,
# a dozen prescriptions each) reads only these, since building the rest is most of its time.
ROUND_PRESCRIPTION_FIELDS = (
    "patient_id",
    "vmp__name",
    "vmp__bnf_code",
    "vmp__vtm__name",
    "vmp__formulary__group",
    "kind",
    "status",
    "verification",
    "dose_value",
    "dose_unit",
    "dose_steps",
    "route",
    "times_of_day",
    "starts_at",
    "ends_at",
    "stopped_at",
)
ROUND_RECORD_FIELDS = ("prescription_id", "due_at", "at", "outcome", "status")


def _records_prefetch(since: datetime, until: datetime, *, light: bool = False) -> list[Any]:
    """The day's records in two reads, each served by its own index: doses by due time, and
    as-required doses (no due time) by when they were given. One OR of the two would scan every
    dose a prescription ever had."""
    records = Administration.objects.exclude(status=ENTERED_IN_ERROR)
    records = (
        records.only(*ROUND_RECORD_FIELDS) if light else records.select_related("recorded_by", "witness")
    )
    return [
        Prefetch(
            "administrations", queryset=records.filter(due_at__range=(since, until)), to_attr="day_doses"
        ),
        Prefetch(
            "administrations",
            queryset=records.filter(due_at__isnull=True, at__range=(since, until)),
            to_attr="day_as_required",
        ),
    ]


def _round_prescriptions(patients: list[int], since: datetime, until: datetime) -> QuerySet[Prescription]:
    antimicrobial_reviews = AntimicrobialReview.objects.only(
        "prescription_id", "reviewed_at", "next_review_on"
    )
    return (
        Prescription.objects.filter(patient_id__in=patients)
        .filter(Q(status=PrescriptionStatus.ACTIVE) | Q(stopped_at__gte=since))
        .select_related("vmp__vtm", "vmp__formulary")
        .only(*ROUND_PRESCRIPTION_FIELDS)
        .prefetch_related(
            *_records_prefetch(since, until, light=True),
            Prefetch("antimicrobial_reviews", queryset=antimicrobial_reviews.order_by("reviewed_at", "pk")),
        )
        .order_by("kind", "vmp__name", "pk")
    )


def _prescriptions(
    patients: list[int], since: datetime, until: datetime, *, active_only: bool
) -> QuerySet[Prescription]:
    found = Prescription.objects.filter(patient_id__in=patients).exclude(status=ENTERED_IN_ERROR)
    if active_only:
        found = found.filter(Q(status=PrescriptionStatus.ACTIVE) | Q(stopped_at__gte=since))
    return (
        found.select_related(
            "vmp__vtm", "vmp__formulary", "amp", "prescribed_by", "stopped_by", "verified_by"
        )
        .prefetch_related(
            *_records_prefetch(since, until),
            Prefetch("reviews", queryset=PharmacyReview.objects.select_related("by")),
            Prefetch(
                "antimicrobial_reviews",
                queryset=AntimicrobialReview.objects.select_related("reviewed_by").order_by(
                    "reviewed_at", "pk"
                ),
            ),
        )
        .order_by("status", "kind", "vmp__name", "pk")
    )


def _state(due_at: datetime, record: Administration | None, now: datetime) -> DoseState:
    if record is not None:
        return DoseState.GIVEN if record.outcome == AdministrationOutcome.GIVEN else DoseState.NOT_GIVEN
    timing = doses.timing(due_at, now, policy.dose_window())
    if timing == doses.Timing.LATE:
        return DoseState.OVERDUE
    return DoseState.DUE if timing == doses.Timing.ON_TIME else DoseState.LATER


def chart_row(prescription: Prescription, since: datetime, until: datetime, now: datetime) -> ChartRow:
    records = [*getattr(prescription, "day_doses", []), *getattr(prescription, "day_as_required", [])]
    by_due = {r.due_at: r for r in records if r.due_at is not None}
    row = ChartRow(prescription)
    if prescription.dose_steps:
        row.dose_on_day = prescription.dose_on(timezone.localdate(since))
    for due in due_times_of(prescription, since=since, until=until):
        row.doses.append(Dose(due, _state(due, by_due.get(due), now), by_due.get(due)))
    if prescription.kind == PrescriptionKind.AS_REQUIRED:
        row.as_required_given = [r for r in records if r.due_at is None]
    row.antimicrobial = _antimicrobial(prescription)
    if row.antimicrobial and prescription.status == PrescriptionStatus.ACTIVE:
        reviews = list(prescription.antimicrobial_reviews.all())
        last = reviews[-1] if reviews else None
        row.review = review_state(
            started_at=prescription.starts_at,
            last_review_at=last.reviewed_at if last else None,
            next_review_on=last.next_review_on if last else None,
            now=now,
        )
    return row


def _antimicrobial(prescription: Prescription) -> bool:
    """From what the chart's query already holds: the formulary group, BNF chapter 5, or a class the
    checks know by the product's moiety."""
    vmp = prescription.vmp
    entry = getattr(vmp, "formulary", None)
    names = [part.strip() for part in vmp.vtm.name.split("+")] if vmp.vtm else [vmp.name]
    return bool(
        (entry is not None and entry.group == "antimicrobial")
        or vmp.bnf_code.startswith("5.")
        or checks.classes_of(names)
    )


def drug_chart(patient: Patient, day: date, now: datetime | None = None) -> list[ChartRow]:
    """Every prescription of the patient (active first, then stopped), with the day's doses; 5 queries."""
    now = now or timezone.now()
    since, until = day_bounds(day)
    rows = [
        chart_row(p, since, until, now) for p in _prescriptions([patient.pk], since, until, active_only=False)
    ]
    return sorted(rows, key=_chart_order)


_KIND_ORDER: dict[str, int] = {
    PrescriptionKind.REGULAR: 0,
    PrescriptionKind.ONCE: 1,
    PrescriptionKind.AS_REQUIRED: 2,
}


def _chart_order(row: ChartRow) -> tuple[bool, int, int, str]:
    """Active before stopped; a dose overdue or due now first; then regular, once-only, as required."""
    p = row.prescription
    return (p.status != PrescriptionStatus.ACTIVE, -row.needs_action, _KIND_ORDER.get(p.kind, 3), p.vmp.name)


@dataclass
class RoundPatient:
    stay: WardStay
    rows: list[ChartRow]

    @property
    def patient(self) -> Patient:
        return self.stay.encounter.patient

    def count(self, state: DoseState) -> int:
        return sum(1 for r in self.rows for d in r.doses if d.state == state)

    @property
    def overdue(self) -> int:
        return self.count(DoseState.OVERDUE)

    @property
    def due(self) -> int:
        return self.count(DoseState.DUE)

    @property
    def given(self) -> int:
        return self.count(DoseState.GIVEN)

    @property
    def not_given(self) -> int:
        return self.count(DoseState.NOT_GIVEN)

    @property
    def later(self) -> int:
        return self.count(DoseState.LATER)


@dataclass(frozen=True)
class RoundSlot:
    """One round time of the day (08:00...) and, per patient, the doses due then."""

    at: datetime
    doses: list[tuple[RoundPatient, ChartRow, Dose]]


def medication_round(
    ward: Ward, patient_ids: set[int], day: date, now: datetime | None = None
) -> tuple[list[RoundPatient], list[RoundSlot]]:
    """The ward's patients (those the nurse may see clinically), most urgent first (overdue, then due
    now, then by bed), and the day's doses grouped by round time. 6 queries however many patients."""
    now = now or timezone.now()
    since, until = day_bounds(day)
    stays = [
        s
        for s in WardStay.objects.filter(ward=ward, ended_at__isnull=True).select_related(
            "encounter__patient", "bed__bay"
        )
        if s.encounter.patient_id in patient_ids
    ]
    by_patient: dict[int, list[ChartRow]] = defaultdict(list)
    for p in _round_prescriptions([s.encounter.patient_id for s in stays], since, until):
        by_patient[p.patient_id].append(chart_row(p, since, until, now))
    patients = [RoundPatient(s, by_patient.get(s.encounter.patient_id, [])) for s in stays]
    patients.sort(key=lambda rp: (-rp.overdue, -rp.due, _bed_key(rp.stay)))
    slots: dict[datetime, list[tuple[RoundPatient, ChartRow, Dose]]] = defaultdict(list)
    for rp in patients:
        for row in rp.rows:
            for dose in row.doses:
                if dose.due_at is not None:
                    slots[dose.due_at].append((rp, row, dose))
    return patients, [RoundSlot(at, slots[at]) for at in sorted(slots)]


def _bed_key(stay: WardStay) -> tuple[str, str]:
    if stay.bed is None:
        return ("~", "")
    return (stay.bed.bay.name if stay.bed.bay else "", stay.bed.label)
