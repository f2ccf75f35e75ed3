"""The patient's wristband as a PDF: name, date of birth, NHS number and hospital number in print
large enough to read at the bedside, and a Code 128 barcode of the NHS number (the hospital number
when it is not known) that the administration screen's "Scan wristband" field reads."""

from __future__ import annotations

import re

from django.template.loader import render_to_string
from django.utils import timezone

from records.models import Patient


def wristband_identifier(patient: Patient) -> str:
    return (patient.nhs_number or "").replace(" ", "") or patient.hospital_number


def barcode_svg(data: str, *, module_mm: float = 0.33, height_mm: float = 14) -> str:
    """A Code 128 barcode as inline SVG, drawn by Zint (the reference barcode library), with a quiet
    zone of ten modules each side, sized so each module is `module_mm` wide."""
    import zint  # zint-bindings, imported when a wristband is printed

    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.CODE128
    symbol.show_text = False
    symbol.whitespace_width = 10
    symbol.outfile = "band.svg"  # the extension picks SVG; with a memory file nothing is written
    symbol.output_options = zint.OutputOptions.BARCODE_MEMORY_FILE
    symbol.encode(data)
    symbol.print()
    if symbol.memfile is None:
        raise ValueError(f"Zint could not draw the barcode: {symbol.errtxt}")
    svg = bytes(symbol.memfile).decode()
    match = re.search(r'<svg width="(\d+)" height="(\d+)"', svg)
    if match is None:
        raise ValueError("Zint did not draw an SVG")
    width, height = int(match.group(1)), int(match.group(2))
    modules = width / 2  # Zint draws each module two units wide at scale 1
    start = svg.index("<svg")
    return svg[start:].replace(
        match.group(0),
        f'<svg width="{modules * module_mm:.2f}mm" height="{height_mm}mm" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" role="img" aria-label="Barcode {data}"',
        1,
    )


def wristband_pdf(patient: Patient) -> bytes:
    from weasyprint import HTML  # imported when needed: it loads pango and fonts

    html = render_to_string(
        "scheduling/wristband.html",
        {
            "patient": patient,
            "barcode": barcode_svg(wristband_identifier(patient)),
            "printed_at": timezone.now(),
        },
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
