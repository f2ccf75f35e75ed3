"""The wristband PDF: printed through the access door and audited, and its barcode, read back from
the PDF as a scanner would read it (Debian's zbarimg on the page rendered by pdftoppm), is what the
administration screen's wristband check accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from epr.audit.models import AuditEvent
from prescribing.rules.administration import wristband_refusal
from tests.factories import PatientFactory
from tests.support import signed_in


def _tools() -> None:
    missing = [tool for tool in ("pdftoppm", "zbarimg") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} missing: install Debian's poppler-utils and zbar-tools"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, name
    return path


# The two tools run with fixed arguments on files this test wrote.
def _read_barcode(pdf: bytes, folder: Path) -> str:
    (folder / "band.pdf").write_bytes(pdf)
    subprocess.run(  # noqa: S603
        [_tool("pdftoppm"), "-r", "300", "-png", str(folder / "band.pdf"), str(folder / "band")],
        check=True,
    )
    image = next(folder.glob("band*.png"))
    found = subprocess.run(  # noqa: S603
        [_tool("zbarimg"), "--quiet", "--raw", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


def test_the_wristband_barcode_reads_back_as_the_patients_nhs_number(admitted, nurse, tmp_path):
    _tools()
    patient = admitted.patient
    response = signed_in(nurse).get(reverse("scheduling:wristband", args=[patient.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    read = _read_barcode(response.content, tmp_path)
    assert read == patient.nhs_number
    assert (
        wristband_refusal(
            read, nhs_number=patient.nhs_number, hospital_number=patient.hospital_number, name="x"
        )
        is None
    )
    assert AuditEvent.objects.filter(patient_id=patient.pk, action="export").exists()


def test_without_an_nhs_number_the_barcode_is_the_hospital_number(nurse, ward, clerk, tmp_path, admitted):
    _tools()
    patient = admitted.patient
    patient.nhs_number = ""
    patient.save()
    read = _read_barcode(
        signed_in(nurse).get(reverse("scheduling:wristband", args=[patient.pk])).content, tmp_path
    )
    assert read == patient.hospital_number


def test_a_nurse_without_a_care_relationship_cannot_print_it(outsider):
    patient = PatientFactory()
    response = signed_in(outsider).get(reverse("scheduling:wristband", args=[patient.pk]))
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(patient_id=patient.pk, action="export").exists()
