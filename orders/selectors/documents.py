"""What orders prefills into a discharge summary or clinic letter (through records' document-section
registry): the results filed during the admission, abnormal ones first, each report on one line with
its values. Reports cancelled or deleted by the laboratory are left out."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from orders.models import ResultObservation, ResultReport
from orders.selectors.results import FILED
from records.registries.documents import DocumentContext, SectionDraft

MAX_REPORTS = 30  # a long stay's every U&E would bury the ones that matter
WITHDRAWN = ("X", "D", "W")


def _window(context: DocumentContext) -> tuple[datetime | None, datetime]:
    encounter = context.encounter
    if encounter is None:
        return None, timezone.now()
    return encounter.admitted_at, encounter.discharged_at or timezone.now()


def _value(o: ResultObservation) -> str:
    text = f"{o.name} {o.comparator}{o.value_text}".strip()
    if o.unit:
        text += f" {o.unit}"
    if o.flag and o.flag.upper() != "N":
        text += f" ({o.flag})"
    return text


def _line(report: ResultReport) -> str:
    when = timezone.localtime(report.observed_at or report.filed_at)
    values = [
        _value(o)
        for o in report.observations.all()
        if o.superseded_by_id is None and o.status not in WITHDRAWN
    ]
    head = f"{when:%d-%b-%Y} {report.name}"
    if report.abnormal:
        head += " [abnormal]"
    return f"{head}: {'; '.join(values)}" if values else head


def investigation_results_draft(context: DocumentContext) -> SectionDraft:
    """The reports of this admission (or, for a letter, the last 90 days), abnormal first, newest first."""
    start, end = _window(context)
    if start is None:
        start = end - timedelta(days=90)
    when = Q(observed_at__gte=start, observed_at__lte=end) | Q(
        observed_at__isnull=True, filed_at__gte=start, filed_at__lte=end
    )
    reports = list(
        ResultReport.objects.filter(when, patient=context.patient, filing__in=FILED)
        .exclude(status__in=WITHDRAWN)
        .prefetch_related("observations")
        .order_by("-abnormal", "-observed_at", "-pk")[:MAX_REPORTS]
    )
    if not reports:
        return SectionDraft(("No investigation results filed during this period.",), recorded=False)
    return SectionDraft(tuple(_line(r) for r in reports))
