"""The patient's wristband as a PDF, to the national wristband rules: the four core identifiers only
(last name in capitals first, first name, date of birth as DD-Mmm-YYYY, verified NHS number in 3 3 4),
the hospital number, labelled, in place of an NHS number not yet verified, "Unknown Male" or "Unknown
Female" (and "Child" under 16) for a patient registered without a known identity, and a Code 128
barcode that the administration screen's "Scan wristband" field reads. Black text on white; a red
band, with the identifiers still black on a white panel, only when an allergy or intolerance is
recorded. Sex is not a core identifier and is not printed (except in "Unknown Male/Female")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone

from records.models import NHSNumberStatus, Patient, Sex
from records.rules.patients import age_on, format_nhs_number
from records.selectors.patients import allergy_summary

CHILD_UNDER = 16  # years: "Unknown Male Child" below this age on the day the band is printed

# Fixed English month abbreviations: the band's date must read 05-Jan-1980 whatever the locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Wristband:
    """What one band prints, decided before any drawing."""

    last_name: str  # upper case; "UNKNOWN" is never used: an unknown patient's name is `unknown_name`
    first_name: str
    unknown_name: str  # "Unknown Male", "Unknown Female Child"...; "" for an identified patient
    date_of_birth: str  # DD-Mmm-YYYY, or "Not known"
    nhs_number: str  # 3 3 4 when verified, else ""
    hospital_number: str  # printed, labelled, only when there is no verified NHS number
    barcode: str  # what the barcode carries: the verified NHS number's 10 digits, else the hospital number
    red: bool  # an active allergy or intolerance is recorded


def has_verified_nhs_number(patient: Patient) -> bool:
    return bool(patient.nhs_number) and patient.nhs_number_status == NHSNumberStatus.VERIFIED


def wristband_identifier(patient: Patient) -> str:
    """The barcode's payload: the verified NHS number (10 digits), else the hospital number. Both are
    what the medicines' wristband check accepts for this patient."""
    if has_verified_nhs_number(patient):
        return patient.nhs_number
    return patient.hospital_number


def band_date(value: date | None) -> str:
    if value is None:
        return "Not known"
    return f"{value.day:02d}-{_MONTHS[value.month - 1]}-{value.year:04d}"


def unknown_patient_name(patient: Patient, today: date) -> str:
    """ "Unknown Male", "Unknown Female", with " Child" under 16; "Unknown Patient" when the sex is not
    recorded either. A child is told by the date of birth on the record (often estimated)."""
    noun = {Sex.MALE.value: "Male", Sex.FEMALE.value: "Female"}.get(patient.sex)
    child = patient.date_of_birth is not None and age_on(patient.date_of_birth, today) < CHILD_UNDER
    if noun is None:
        return "Unknown Child" if child else "Unknown Patient"
    return f"Unknown {noun} Child" if child else f"Unknown {noun}"


def first_name(given_names: str) -> str:
    """The first of the given names, its first letter a capital ("mary-jane ann" -> "Mary-jane")."""
    first = (given_names or "").split()[:1]
    if not first:
        return ""
    return first[0][:1].upper() + first[0][1:]


def wristband_for(patient: Patient, *, today: date | None = None) -> Wristband:
    today = today or timezone.localdate()
    verified = has_verified_nhs_number(patient)
    unknown = patient.temporary_identity
    return Wristband(
        last_name="" if unknown else patient.family_name.upper(),
        first_name="" if unknown else first_name(patient.given_names),
        unknown_name=unknown_patient_name(patient, today) if unknown else "",
        date_of_birth=band_date(patient.date_of_birth),
        nhs_number=format_nhs_number(patient.nhs_number) if verified else "",
        hospital_number="" if verified else patient.hospital_number,
        barcode=wristband_identifier(patient),
        red=allergy_summary(patient).present,
    )


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


def wristband_pdf(patient: Patient, *, today: date | None = None) -> bytes:
    from weasyprint import HTML  # imported when needed: it loads pango and fonts

    band = wristband_for(patient, today=today)
    html = render_to_string("scheduling/wristband.html", {"band": band, "barcode": barcode_svg(band.barcode)})
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
