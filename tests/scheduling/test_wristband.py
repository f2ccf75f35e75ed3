"""The wristband PDF: printed through the access door and audited, printing the four core identifiers
only (no sex), the hospital number labelled in place of an NHS number not yet verified, "Unknown
Male/Female (Child)" for a patient without a known identity, and red only for recorded allergies. Each
band is read back from the PDF as a person and a scanner would read it: its text with poppler's
pdftotext, its barcode with Debian's zbarimg on the page rendered by pdftoppm, and the colour of the
rendered page; what the barcode reads is what the administration screen's wristband check accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import AuditEvent
from prescribing.rules.administration import wristband_refusal
from records import services
from records.models import Patient
from scheduling.wristbands import band_date, first_name, unknown_patient_name
from tests.factories import PatientFactory
from tests.support import signed_in

RED = (0xD0, 0x00, 0x00)
WHITE = (0xFF, 0xFF, 0xFF)
DPI = 150  # for the colour check: the red edge is 2.5 mm, about 15 pixels


def _tools() -> None:
    missing = [tool for tool in ("pdftoppm", "pdftotext", "zbarimg") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} missing: install Debian's poppler-utils and zbar-tools"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, name
    return path


@dataclass(frozen=True)
class Printed:
    text: str  # the PDF's text, its whitespace collapsed to single spaces
    barcode: str  # what zbarimg reads
    corner: tuple[int, int, int]  # the colour of the band's edge
    panel: tuple[int, int, int]  # the colour of the panel behind the identifiers


def _pixel(ppm: bytes, x: int, y: int) -> tuple[int, int, int]:
    """One pixel of a binary PPM (P6, 8 bits), as pdftoppm writes it."""
    magic, width, height, depth, data = ppm.split(maxsplit=4)
    assert magic == b"P6" and depth == b"255", ppm[:20]
    assert x < int(width) and y < int(height)
    at = (y * int(width) + x) * 3
    return data[at], data[at + 1], data[at + 2]


# The three tools run with fixed arguments on files this test wrote.
def _read(pdf: bytes, folder: Path) -> Printed:
    path = folder / "band.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(  # noqa: S603
        [_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(  # noqa: S603
        [_tool("pdftoppm"), "-r", "300", "-png", str(path), str(folder / "band")], check=True
    )
    image = next(folder.glob("band*.png"))
    barcode = subprocess.run(  # noqa: S603
        [_tool("zbarimg"), "--quiet", "--raw", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    ppm = subprocess.run(  # noqa: S603
        [_tool("pdftoppm"), "-r", str(DPI), "-singlefile", str(path)], capture_output=True, check=True
    ).stdout
    mm = DPI / 25.4
    return Printed(
        text=" ".join(text.split()),
        barcode=barcode,
        corner=_pixel(ppm, round(1 * mm), round(1 * mm)),
        panel=_pixel(ppm, round(4 * mm), round(15 * mm)),
    )


def _print(user, patient: Patient, folder: Path) -> Printed:
    response = signed_in(user).get(reverse("scheduling:wristband", args=[patient.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return _read(response.content, folder)


def _accepted_by_the_medicines_check(read: str, patient: Patient) -> bool:
    """The bedside check, called as prescribing.services.administration calls it."""
    refusal = wristband_refusal(
        read,
        nhs_number=patient.nhs_number or "",
        hospital_number=patient.hospital_number or "",
        name=patient.display_name,
    )
    return refusal is None


def _no_sex(text: str) -> None:
    for word in ("Male", "Female", "Sex", "Gender", " M ", " F "):
        assert word.lower() not in f" {text.lower()} ", (word, text)


@pytest.fixture
def identified(admitted) -> Patient:
    patient = admitted.patient
    patient.family_name, patient.given_names = "Smith", "john Paul"
    patient.title, patient.sex = "Mr", "male"
    patient.date_of_birth = date(1980, 1, 5)
    patient.nhs_number, patient.nhs_number_status = "9990000018", "01"
    patient.save()
    return patient


def test_a_verified_nhs_number_is_printed_in_3_3_4_and_is_the_barcode(identified, nurse, tmp_path):
    _tools()
    band = _print(nurse, identified, tmp_path)
    assert "SMITH John" in band.text
    assert "DOB 05-Jan-1980" in band.text
    assert "NHS No. 999 000 0018" in band.text
    # Four core identifiers only: no hospital number, title, middle name or sex.
    assert identified.hospital_number not in band.text and "Hospital" not in band.text
    assert "Mr" not in band.text and "Paul" not in band.text
    _no_sex(band.text)
    assert band.barcode == "9990000018"
    assert _accepted_by_the_medicines_check(band.barcode, identified)
    assert band.corner == WHITE and band.panel == WHITE
    assert AuditEvent.objects.filter(
        patient_id=identified.pk, action="export", detail__document="wristband"
    ).exists()


@pytest.mark.parametrize("status", ["02", "03", "05"])
def test_an_unverified_nhs_number_is_not_printed_the_hospital_number_is(identified, nurse, tmp_path, status):
    _tools()
    identified.nhs_number_status = status
    identified.save()
    band = _print(nurse, identified, tmp_path)
    assert "SMITH John" in band.text and "DOB 05-Jan-1980" in band.text
    assert "NHS No. not yet verified" in band.text
    assert f"Hospital No. {identified.hospital_number}" in band.text
    assert "999 000 0018" not in band.text and "9990000018" not in band.text
    _no_sex(band.text)
    assert band.barcode == identified.hospital_number
    assert _accepted_by_the_medicines_check(band.barcode, identified)


def test_without_an_nhs_number_the_barcode_is_the_hospital_number(identified, nurse, tmp_path):
    _tools()
    identified.nhs_number, identified.nhs_number_status = "", "03"
    identified.save()
    band = _print(nurse, identified, tmp_path)
    assert "NHS No. not yet verified" in band.text
    assert f"Hospital No. {identified.hospital_number}" in band.text
    assert band.barcode == identified.hospital_number
    assert _accepted_by_the_medicines_check(band.barcode, identified)


def _unknown(patient: Patient, *, sex: str, date_of_birth: date) -> Patient:
    patient.temporary_identity = True
    patient.family_name, patient.given_names, patient.sex = "Unknown", "Xray", sex
    patient.date_of_birth = date_of_birth
    patient.nhs_number, patient.nhs_number_status = "", "03"
    patient.save()
    return patient


def test_an_unidentified_adult_man_is_unknown_male(admitted, nurse, tmp_path):
    _tools()
    patient = _unknown(admitted.patient, sex="male", date_of_birth=date(1970, 1, 1))
    band = _print(nurse, patient, tmp_path)
    assert "Unknown Male" in band.text and "Child" not in band.text
    assert "UNKNOWN" not in band.text and "Xray" not in band.text
    assert "DOB 01-Jan-1970" in band.text
    assert "NHS No. not yet verified" in band.text
    assert f"Hospital No. {patient.hospital_number}" in band.text
    assert band.barcode == patient.hospital_number
    assert _accepted_by_the_medicines_check(band.barcode, patient)


def test_an_unidentified_girl_is_unknown_female_child(admitted, nurse, tmp_path):
    _tools()
    today = timezone.localdate()
    patient = _unknown(admitted.patient, sex="female", date_of_birth=date(today.year - 10, 1, 1))
    band = _print(nurse, patient, tmp_path)
    assert "Unknown Female Child" in band.text
    assert "Xray" not in band.text
    assert f"Hospital No. {patient.hospital_number}" in band.text
    assert band.barcode == patient.hospital_number
    assert _accepted_by_the_medicines_check(band.barcode, patient)


def _allergy(patient: Patient, doctor) -> None:
    services.allergy_record(recorded_by=doctor, patient=patient, substance_text="Penicillin")


def _none_known(patient: Patient, doctor) -> None:
    services.allergy_record_none_known(recorded_by=doctor, patient=patient)


def _in_error(patient: Patient, doctor) -> None:
    allergy = services.allergy_record(recorded_by=doctor, patient=patient, substance_text="Penicillin")
    services.entry_mark_error(marked_by=doctor, entry=allergy, reason="Recorded on the wrong patient")


def _resolved(patient: Patient, doctor) -> None:
    allergy = services.allergy_record(recorded_by=doctor, patient=patient, substance_text="Penicillin")
    allergy.clinical_status = "resolved"
    allergy.save()


def _intolerance(patient: Patient, doctor) -> None:
    services.allergy_record(recorded_by=doctor, patient=patient, substance_text="Codeine", kind="intolerance")


@pytest.mark.parametrize(
    ("record", "colour"),
    [
        (_allergy, RED),
        (_intolerance, RED),
        (_none_known, WHITE),
        (None, WHITE),  # allergies not recorded
        (_in_error, WHITE),  # the only allergy was entered in error
        (_resolved, WHITE),  # the only allergy is no longer active
    ],
    ids=["allergy", "intolerance", "no-known-allergies", "not-recorded", "entered-in-error", "resolved"],
)
def test_the_band_is_red_only_when_an_allergy_is_recorded(
    identified, nurse, doctor, tmp_path, record, colour
):
    _tools()
    if record is not None:
        record(identified, doctor)
    band = _print(nurse, identified, tmp_path)
    assert band.corner == colour
    assert band.panel == WHITE  # the identifiers stay black on white
    assert "SMITH John" in band.text and "NHS No. 999 000 0018" in band.text
    assert "Penicillin" not in band.text and "Codeine" not in band.text and "allerg" not in band.text.lower()
    _no_sex(band.text)
    assert band.barcode == "9990000018"


def test_a_ward_clerk_prints_the_red_band_too(identified, clerk, doctor, tmp_path):
    """The colour is the patient's, not the printer's: the clerk, who sees demographics only, prints
    the same red band (and no allergy details)."""
    _tools()
    _allergy(identified, doctor)
    band = _print(clerk, identified, tmp_path)
    assert band.corner == RED and band.panel == WHITE
    assert "Penicillin" not in band.text
    assert band.barcode == "9990000018"
    assert AuditEvent.objects.filter(patient_id=identified.pk, user_id=clerk.pk, action="export").exists()


def test_another_patients_band_is_refused_by_the_medicines_check(identified, nurse, tmp_path):
    _tools()
    band = _print(nurse, identified, tmp_path)
    other = PatientFactory()
    assert not _accepted_by_the_medicines_check(band.barcode, other)


def test_a_nurse_without_a_care_relationship_cannot_print_it(outsider):
    patient = PatientFactory()
    response = signed_in(outsider).get(reverse("scheduling:wristband", args=[patient.pk]))
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(patient_id=patient.pk, action="export").exists()


def test_the_date_of_birth_reads_dd_mmm_yyyy():
    assert band_date(date(1980, 1, 5)) == "05-Jan-1980"
    assert band_date(date(2001, 12, 31)) == "31-Dec-2001"
    assert band_date(None) == "Not known"


def test_the_first_name_is_the_first_given_name_with_a_capital():
    assert first_name("john paul") == "John"
    assert first_name("Mary-Jane Ann") == "Mary-Jane"
    assert first_name("") == ""


@pytest.mark.parametrize(
    ("sex", "born", "name"),
    [
        ("male", date(2010, 6, 2), "Unknown Male"),  # 16 today
        ("male", date(2010, 6, 3), "Unknown Male Child"),  # 16 tomorrow
        ("female", date(2020, 1, 1), "Unknown Female Child"),
        ("female", None, "Unknown Female"),  # no date of birth: not taken for a child
        ("unknown", date(1990, 1, 1), "Unknown Patient"),
        ("other", date(2020, 1, 1), "Unknown Child"),
    ],
)
def test_an_unknown_patients_name(sex, born, name):
    patient = Patient(temporary_identity=True, sex=sex, date_of_birth=born)
    assert unknown_patient_name(patient, date(2026, 6, 2)) == name
