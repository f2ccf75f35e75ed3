"""Reads of results: the latest kidney function for other apps' dose checks (through records'
results interface), and a patient's results for the subject-access export."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from orders.models import Filing, ResultObservation, ResultReport
from orders.rules import trends
from orders.rules.hl7 import is_abnormal
from records.models import Patient
from records.registries.results import CREATININE_CLEARANCE, EGFR, LatestResult
from records.registries.subject_access import SectionEntry

# LOINC codes a laboratory sends kidney function under.
EGFR_CODES = ("33914-3", "62238-1", "69405-9", "50044-7", "48642-3", "48643-1", "98979-8")
CREATININE_CLEARANCE_CODES = ("2164-2", "35591-7")
FILED = (Filing.FILED, Filing.UNSOLICITED)


def _latest(patient: Patient, kind: str, codes: tuple[str, ...]) -> LatestResult | None:
    found = (
        ResultObservation.objects.filter(
            patient=patient, code__in=codes, value_number__isnull=False, report__filing__in=FILED
        )
        .exclude(status__in=["X", "D", "W"])
        .order_by("-observed_at", "-pk")
        .only("value_number", "unit", "observed_at", "report__filed_at")
        .select_related("report")
        .first()
    )
    if found is None or found.value_number is None:
        return None
    return LatestResult(kind, found.value_number, found.unit, found.observed_at or found.report.filed_at)


def latest_egfr(patient: Patient) -> LatestResult | None:
    return _latest(patient, EGFR, EGFR_CODES)


def latest_creatinine_clearance(patient: Patient) -> LatestResult | None:
    return _latest(patient, CREATININE_CLEARANCE, CREATININE_CLEARANCE_CODES)


def result_entries(patient: Patient) -> list[SectionEntry]:
    """Every report filed to the patient, with its values."""
    reports = (
        ResultReport.objects.filter(patient=patient)
        .prefetch_related("observations")
        .order_by("observed_at", "pk")
    )
    return [
        SectionEntry(
            id=str(r.pk),
            when=r.observed_at or r.filed_at,
            summary=r.name,
            details={
                "Status": r.status,
                "Order number": r.placer_number,
                "Laboratory number": r.filler_number,
            },
            rows=tuple(
                {
                    "Test": o.name,
                    "Result": f"{o.comparator}{o.value_text}",
                    "Units": o.unit,
                    "Range": o.reference_range,
                    "Flag": o.flag,
                }
                for o in r.observations.all()
            ),
        )
        for r in reports
    ]


TEXT_TYPES = ("TX", "FT")  # a radiology or microbiology report: read as text, not tabulated


@dataclass(frozen=True)
class Cell:
    value: str
    flag: str
    abnormal: bool
    replaced: str = ""  # a corrected value: what it replaced


@dataclass
class CumulativeRow:
    name: str
    unit: str
    reference_range: str
    code: str = ""
    numeric: bool = False
    cells: dict[int, Cell] = field(default_factory=dict)  # by report id
    aligned: list[Cell | None] = field(default_factory=list)  # one per column, for the template


@dataclass(frozen=True)
class Cumulative:
    reports: list[ResultReport]  # the columns, newest first
    rows: list[CumulativeRow]

    def cell(self, row: CumulativeRow, report: ResultReport) -> Cell | None:
        return row.cells.get(report.pk)


def cumulative_results(patient: Patient, *, columns: int = 20) -> Cumulative:
    """The patient's latest reports as columns (newest first) and each test as a row, in two
    queries however many results."""
    tabulated = ResultObservation.objects.filter(report=OuterRef("pk")).exclude(value_type__in=TEXT_TYPES)
    reports = list(
        ResultReport.objects.filter(patient=patient, filing__in=FILED)
        .filter(Exists(tabulated))
        .select_related("acknowledged_by")
        .order_by("-observed_at", "-pk")[:columns]
    )
    rows: dict[tuple[str, str], CumulativeRow] = {}
    observations = list(ResultObservation.objects.filter(report__in=reports).order_by("report_id", "pk"))
    outside = ResultObservation.objects.filter(superseded_by__in=[x.pk for x in observations]).exclude(
        pk__in=[x.pk for x in observations]
    )
    replaced: dict[int, ResultObservation] = {
        o.superseded_by_id: o for o in [*observations, *outside] if o.superseded_by_id is not None
    }
    for o in observations:
        if o.superseded_by_id is not None or o.value_type in TEXT_TYPES:
            continue  # a correction shows what it replaced; text reports are shown as text
        key = (o.code, o.name)
        row = rows.setdefault(key, CumulativeRow(o.name, o.unit, o.reference_range, o.code))
        row.numeric = row.numeric or o.value_number is not None
        old = replaced.get(o.pk)
        row.cells[o.report_id] = Cell(
            f"{o.comparator}{o.value_text}",
            o.flag,
            is_abnormal(o.flag),
            f"{old.comparator}{old.value_text}" if old else "",
        )
    for row in rows.values():
        row.aligned = [row.cells.get(report.pk) for report in reports]
    return Cumulative(reports, sorted(rows.values(), key=lambda r: r.name.lower()))


def text_reports(patient: Patient, *, limit: int = 20) -> list[ResultReport]:
    """Reports written as text (imaging, microbiology, histology), newest first, with their text."""
    return list(
        ResultReport.objects.filter(
            patient=patient, filing__in=FILED, observations__value_type__in=TEXT_TYPES
        )
        .distinct()
        .select_related("acknowledged_by")
        .prefetch_related("observations")
        .order_by("-observed_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class Trend:
    code: str
    name: str
    unit: str
    reference_range: str
    values: list[ResultObservation]  # newest first, for the table beside the chart
    chart: trends.Chart | None


def trend(patient: Patient, code: str, *, limit: int = 100) -> Trend | None:
    """One test's numeric values over time (the latest `limit`), in one query."""
    values = list(
        ResultObservation.objects.filter(
            patient=patient,
            code=code,
            report__filing__in=FILED,
            superseded_by__isnull=True,
            value_number__isnull=False,
        )
        .exclude(status__in=["X", "D", "W"])
        .select_related("report")
        .order_by("-observed_at", "-pk")[:limit]
    )
    if not values:
        return None
    latest = values[0]
    points = [
        trends.Point(o.observed_at or o.report.filed_at, o.value_number, is_abnormal(o.flag))
        for o in values
        if o.value_number is not None
    ]
    return Trend(
        code,
        latest.name,
        latest.unit,
        latest.reference_range,
        values,
        trends.chart(points, latest.reference_range),
    )


def waiting_acknowledgement(patient: Patient) -> list[ResultReport]:
    return list(
        ResultReport.objects.filter(
            patient=patient, filing__in=FILED, acknowledged_at__isnull=True, status__in=["F", "C"]
        )
        .prefetch_related("observations")
        .order_by("-critical", "-abnormal", "observed_at", "pk")
    )


def unmatched_queue() -> list[ResultReport]:
    """Reports filed to nobody, oldest first, with the message they came in."""
    return list(
        ResultReport.objects.filter(filing=Filing.UNMATCHED)
        .select_related("message")
        .prefetch_related("observations")
        .order_by("filed_at", "pk")
    )


def unmatched_count() -> int:
    return ResultReport.objects.filter(filing=Filing.UNMATCHED).count()
