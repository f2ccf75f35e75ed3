"""Reads of a patient's prescriptions: the subject-access export's medicines section."""

from __future__ import annotations

from typing import Any

from prescribing.models import Prescription
from records.models import ENTERED_IN_ERROR, Patient
from records.registries.subject_access import SectionEntry


def _person(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def prescription_entries(patient: Patient) -> list[SectionEntry]:
    """Every prescription, stopped and struck-through ones included, with the checks answered."""
    prescriptions = (
        Prescription.objects.filter(patient=patient)
        .select_related("vmp", "amp", "prescribed_by", "stopped_by")
        .prefetch_related("checks")
        .order_by("prescribed_at", "pk")
    )
    return [
        SectionEntry(
            id=str(p.pk),
            when=p.prescribed_at,
            summary=str(p),
            details={
                "Medicine": p.vmp.name,
                "Brand": p.amp.name if p.amp else "",
                "Kind": p.get_kind_display(),
                "Dose": f"{p.dose_value.normalize():f} {p.dose_unit}",
                "Route": p.route,
                "Times": ", ".join(p.times_of_day),
                "Indication": p.indication,
                "Starts": p.starts_at,
                "Ends": p.ends_at,
                "Prescribed by": _person(p.prescribed_by),
                "Status": p.get_status_display(),
                "Stopped by": _person(p.stopped_by),
                "Stop reason": p.stop_reason,
            },
            rows=tuple(
                {"Check": c.message, "Outcome": c.get_outcome_display(), "Reason": c.reason}
                for c in p.checks.all()
            ),
            entered_in_error=p.status == ENTERED_IN_ERROR,
        )
        for p in prescriptions
    ]
