"""The specimen label as a PDF: the patient's core identifiers (name, date of birth, NHS number,
hospital number) as a laboratory's acceptance policy requires, the test and container, and a
Code 128 barcode of the order number that the laboratory scans to book the specimen in. One label
per page, sized for a specimen label printer (60 x 38 mm)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from orders.models import Specimen
from scheduling.wristbands import barcode_svg


def specimen_label_pdf(specimen: Specimen, *, copies: int = 1) -> bytes:
    from weasyprint import HTML  # imported when a label is printed: it loads pango and fonts

    order = specimen.order
    html = render_to_string(
        "orders/specimen_label.html",
        {
            "specimen": specimen,
            "order": order,
            "patient": order.patient,
            "barcode": barcode_svg(order.number, module_mm=0.25, height_mm=9),
            "copies": range(max(1, min(copies, 6))),
            "printed_at": timezone.now(),
        },
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
