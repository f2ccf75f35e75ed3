"""What the prescribing pages share: the prescription of the patient opened (never another's)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from prescribing.models import Prescription
from records.selectors.patients import PatientView


def prescription_of(opened: PatientView, prescription_id: int) -> Prescription:
    """The prescription, only if it is the opened patient's: a URL naming another's is a 404."""
    return get_object_or_404(
        Prescription.objects.select_related("vmp__vtm", "amp", "prescribed_by", "patient"),
        pk=prescription_id,
        patient=opened.patient,
    )
