"""Reads of results: the latest kidney function for other apps' dose checks (through records'
results interface), and a patient's results for the subject-access export."""

from __future__ import annotations

from orders.models import Filing, ResultObservation, ResultReport
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
