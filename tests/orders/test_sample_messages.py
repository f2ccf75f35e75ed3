"""The sample messages in docs/hl7 do what docs/hl7/README.md says they do."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from orders.models import Filing, ResultReport
from orders.services.results import results_receive

SAMPLES = Path(settings.BASE_DIR) / "docs" / "hl7"


def _receive(name: str):
    return results_receive((SAMPLES / name).read_bytes().decode(), channel="file")


def test_the_unknown_patient_waits_in_the_unmatched_queue(db):
    answer = _receive("unmatched-patient.hl7")
    report = ResultReport.objects.get()
    assert answer.code == "AA" and report.filing == Filing.UNMATCHED and report.patient is None
    assert report.name == "Urea and electrolytes" and report.code == "U&E"  # \T\ read back as &
    assert "haemolysed" in report.notes


def test_the_radiology_report_keeps_its_line_breaks(db):
    assert _receive("radiology-report.hl7").code == "AA"
    (text,) = ResultReport.objects.get().observations.values_list("value_text", flat=True)
    lines = ["Heart size normal.", "Right lower lobe consolidation.", "No pleural effusion."]
    assert text.splitlines() == lines


def test_an_adt_message_is_refused_with_a_reason(db):
    answer = _receive("not-a-result.hl7")
    assert answer.code == "AR" and "Only ORU" in answer.ack and not ResultReport.objects.exists()
