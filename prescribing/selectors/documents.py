"""The medicines part of a discharge summary or clinic letter (records.registries.documents): the
medicines to take out or continue, each as a line a GP reads, and what was stopped during the stay."""

from __future__ import annotations

from prescribing.models import Prescription, PrescriptionKind, PrescriptionStatus, Setting
from records.registries.documents import DocumentContext, SectionDraft


def medication_line(p: Prescription) -> str:
    if p.kind == PrescriptionKind.REGULAR:
        when = f"at {', '.join(p.times_of_day)}"
    elif p.kind == PrescriptionKind.AS_REQUIRED:
        when = "when required"
        when += f", at least {p.interval_text} apart" if p.min_interval_minutes else ""
        when += f", at most {p.max_doses_in_24_hours} in 24 hours" if p.max_doses_in_24_hours else ""
    else:
        when = "once"
    parts = [f"{p.vmp.name}: {p.dose_text} {p.route.lower()} {when}".strip()]
    if p.indication:
        parts.append(f"for {p.indication}")
    if p.ends_at:
        parts.append(f"until {p.ends_at:%d-%b-%Y}")
    return ", ".join(parts)


def medications_draft(context: DocumentContext) -> SectionDraft:
    """To-take-out (and outpatient) prescriptions still active; then the inpatient ones stopped
    during this admission, with why, so the GP knows what changed."""
    found = list(
        Prescription.objects.filter(patient=context.patient)
        .exclude(status="entered-in-error")
        .select_related("vmp")
        .order_by("vmp__name", "pk")
    )
    going_home = [
        p for p in found if p.setting != Setting.INPATIENT and p.status == PrescriptionStatus.ACTIVE
    ]
    stopped = [
        p
        for p in found
        if p.setting == Setting.INPATIENT
        and p.status == PrescriptionStatus.STOPPED
        and context.encounter is not None
        and p.encounter_id == context.encounter.pk
        and p.stop_reason != "Patient discharged"
    ]
    lines = [medication_line(p) for p in going_home] or ["No medicines to take home were prescribed."]
    if stopped:
        lines.append("Stopped during this admission:")
        lines += [f"{p.vmp.name}: {p.stop_reason}" for p in stopped]
    return SectionDraft(tuple(lines), recorded=bool(going_home or stopped))
