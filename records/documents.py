"""Documents for patients, rendered to PDF with WeasyPrint (no JavaScript: charts would be SVG)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from records.models import CarePlan


def careplan_pdf(plan: CarePlan) -> bytes:
    from weasyprint import HTML  # imported when needed: it loads pango and fonts

    html = render_to_string("records/documents/careplan.html", {"plan": plan, "printed_at": timezone.now()})
    return HTML(string=html).write_pdf()
