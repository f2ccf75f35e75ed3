"""What a subject-access export contains: the registered sections (records/registries/
subject_access.py) collected for one patient, and records' own sections (RECORD_SECTIONS, registered
by wiring.py).

Decisions, recorded here because they are the trust's answer to "what did you send me?":
- The whole record is exported, entries marked entered-in-error included and marked as such:
  they are still part of the record and the patient may see them.
- The audit trail ("who accessed this record") is included: who (staff name or system), role,
  when, what and how, and any break-glass reason. The right of access covers the recipients of a
  person's data, and the NHS treats its access log as part of that. Client network addresses are
  left out: they describe the trust's network, not the patient.
- Redacted entries are left out and listed (section, entry id, reason), never their content.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.audit.actions import audit_action_label
from epr.audit.models import Action
from epr.audit.selectors import describe
from epr.audit.services import audit_patients_shown
from records.models import (
    ENTERED_IN_ERROR,
    AllergyIntolerance,
    AllergyKind,
    CarePlan,
    ClinicalAlert,
    ClinicalNote,
    Encounter,
    EntryStatus,
    ObservationSet,
    Patient,
    Problem,
    SpO2ScaleSetting,
    SubjectAccessRequest,
    SubjectAccessStatus,
    TreatmentEscalationPlan,
    WardStay,
)
from records.models.notes import note_rows
from records.registries.alerts import alert_kind
from records.registries.subject_access import Section, SectionEntry, sections
from records.selectors import clinical as clinical_selectors
from records.selectors import patients as selectors


@dataclass(frozen=True)
class ExportSection:
    key: str
    title: str
    entries: list[SectionEntry]
    table: bool = False


@dataclass(frozen=True)
class Redaction:
    section: str
    section_title: str
    entry_id: str
    reason: str


Progress = Callable[[int, int, str], None]


def collect_export(
    patient: Patient, *, redactions: list[dict[str, str]], progress: Progress | None = None
) -> tuple[list[ExportSection], list[Redaction]]:
    """Every section's entries with the redacted ones left out, and the redactions that applied."""
    reasons = {(r["section"], str(r["entry_id"])): r["reason"] for r in redactions}
    chosen = sections()
    out: list[ExportSection] = []
    applied: list[Redaction] = []
    for done, section in enumerate(chosen):
        if progress is not None:
            progress(done, len(chosen), section.title)
        kept = []
        for entry in section.collect(patient):
            reason = reasons.get((section.key, entry.id))
            if reason is None:
                kept.append(entry)
            else:
                applied.append(Redaction(section.key, section.title, entry.id, reason))
        out.append(ExportSection(key=section.key, title=section.title, entries=kept, table=section.table))
    return out, applied


# The record's own sections -------------------------------------------------------------------


def _person(user) -> str:
    return str(user) if user is not None else ""


def _error_fields(entry) -> dict[str, Any]:
    if entry.status != EntryStatus.ENTERED_IN_ERROR:
        return {}
    return {"Entered in error because": entry.error_reason}


def _demographics(patient: Patient) -> list[SectionEntry]:
    p = patient
    entries = [
        SectionEntry(
            id="identity",
            when=None,
            summary="Name, identifiers and personal details",
            details={
                "NHS number": p.nhs_number_display,
                "NHS number status": p.get_nhs_number_status_display(),
                "Hospital number": p.hospital_number,
                "Title": p.title,
                "Given names": p.given_names,
                "Family name": p.family_name,
                "Preferred name": p.preferred_name,
                "Date of birth": p.date_of_birth,
                "Sex": p.get_sex_display(),
                "Gender identity": p.gender_identity,
                "Date of death": p.date_of_death,
                "Ethnic category": p.get_ethnic_category_display(),
                "Preferred language": p.preferred_language,
                "Interpreter required": p.interpreter_required,
                "Record status": p.get_status_display(),
            },
        ),
        SectionEntry(
            id="contact",
            when=None,
            summary="Address and contact details",
            details={
                "Address line 1": p.address_line_1,
                "Address line 2": p.address_line_2,
                "Town": p.town,
                "Postcode": p.postcode,
                "Phone": p.phone,
                "Email": p.email,
            },
        ),
        SectionEntry(
            id="gp",
            when=None,
            summary="GP practice",
            details={"Practice": p.gp_practice_name, "Practice code": p.gp_practice_code},
        ),
    ]
    if p.next_of_kin_name or p.next_of_kin_phone:
        # About another person: listed apart so it can be redacted on its own.
        entries.append(
            SectionEntry(
                id="next-of-kin",
                when=None,
                summary="Next of kin",
                details={
                    "Name": p.next_of_kin_name,
                    "Relationship": p.next_of_kin_relationship,
                    "Phone": p.next_of_kin_phone,
                },
            )
        )
    return entries


def _admissions(patient: Patient) -> list[SectionEntry]:
    return [
        SectionEntry(
            id=str(e.pk),
            when=e.admitted_at,
            summary=f"Admission, {e.get_specialty_display()}",
            details={
                "Admitted": e.admitted_at,
                "Admission method": e.get_admission_method_display(),
                "Specialty": e.get_specialty_display(),
                "Consultant": _person(e.consultant),
                "Team": str(e.team) if e.team_id else "",
                "Status": e.get_status_display(),
                "Discharged": e.discharged_at,
                "Discharge destination": e.get_discharge_destination_display(),
            },
            rows=tuple(
                {
                    "Ward": str(s.ward),
                    "Bed": str(s.bed) if s.bed_id else "",
                    "From": s.started_at,
                    "To": s.ended_at,
                }
                for s in e.ward_stays.all()
            ),
        )
        for e in reversed(selectors.encounters_of(patient))
    ]


def _allergies(patient: Patient) -> list[SectionEntry]:
    return [
        SectionEntry(
            id=str(a.pk),
            when=a.recorded_at,
            summary=a.substance + (" (intolerance)" if a.kind == AllergyKind.INTOLERANCE else ""),
            details={
                "Type": a.get_kind_display(),
                "Substance": a.substance,
                "SNOMED CT code": a.substance_code,
                "Category": a.get_category_display(),
                "Reaction": a.reaction,
                "Severity": a.get_severity_display(),
                "Criticality": a.get_criticality_display(),
                "Certainty": a.get_verification_display(),
                "Clinical status": a.get_clinical_status_display(),
                "Note": a.note,
                "Recorded": a.recorded_at,
                "Recorded by": _person(a.recorded_by),
                "Amended": a.version > 1,
                **_error_fields(a),
            },
            entered_in_error=a.status == ENTERED_IN_ERROR,
        )
        for a in clinical_selectors.allergies_of(patient)
    ]


def _problems(patient: Patient) -> list[SectionEntry]:
    return [
        SectionEntry(
            id=str(p.pk),
            when=p.onset_date or p.recorded_at,
            summary=p.snomed_display,
            details={
                "Problem": p.snomed_display,
                "SNOMED CT code": p.snomed_code,
                "ICD-10": f"{p.icd10_code} {p.icd10_display}".strip(),
                "Clinical status": p.get_clinical_status_display(),
                "Certainty": p.get_verification_display(),
                "Onset": p.onset_date,
                "Resolved": p.resolved_date,
                "Note": p.note,
                "Recorded": p.recorded_at,
                "Recorded by": _person(p.recorded_by),
                "Amended": p.version > 1,
                **_error_fields(p),
            },
            entered_in_error=p.status == ENTERED_IN_ERROR,
        )
        for p in clinical_selectors.problems_of(patient)
    ]


def _observations(patient: Patient) -> list[SectionEntry]:
    sets = (
        ObservationSet.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by("taken_at", "pk")
    )
    return [
        SectionEntry(
            id=str(o.pk),
            when=o.taken_at,
            summary="Observations" + (f", NEWS2 {o.news2_total}" if o.news2_total is not None else ""),
            details={
                "Taken": o.taken_at,
                "Respiration rate (/min)": o.respiration_rate,
                "SpO2 (%)": o.spo2,
                "SpO2 scale": o.spo2_scale,
                "On oxygen": o.on_oxygen,
                "Oxygen device": o.get_oxygen_device_display(),
                "Oxygen flow (L/min)": o.oxygen_flow,
                "Blood pressure (mmHg)": f"{o.systolic_bp}/{o.diastolic_bp}" if o.systolic_bp else "",
                "Pulse (/min)": o.pulse,
                "Consciousness (ACVPU)": o.consciousness,
                "Temperature (°C)": o.temperature,
                "Weight (kg)": o.weight,
                "Height (cm)": o.height,
                "Pain score (0-10)": o.pain_score,
                "NEWS2 score": o.news2_total,
                "NEWS2 risk": o.news2_risk,
                "Recorded by": _person(o.recorded_by) or o.source,
                **_error_fields(o),
            },
            entered_in_error=o.status == ENTERED_IN_ERROR,
        )
        for o in sets
    ]


def _spo2_scales(patient: Patient) -> list[SectionEntry]:
    settings = SpO2ScaleSetting.objects.filter(patient=patient).select_related("set_by").order_by("set_at")
    return [
        SectionEntry(
            id=str(s.pk),
            when=s.set_at,
            summary=f"SpO2 Scale {s.scale}",
            details={"Scale": s.scale, "Reason": s.reason, "Set": s.set_at, "Set by": _person(s.set_by)},
        )
        for s in settings
    ]


def _escalation_plans(patient: Patient) -> list[SectionEntry]:
    plans = TreatmentEscalationPlan.objects.filter(patient=patient).select_related("recorded_by")
    return [
        SectionEntry(
            id=str(p.pk),
            when=p.recorded_at,
            summary=f"{p.get_cpr_decision_display()}; {p.get_escalation_level_display()}",
            details={
                "Senior clinician responsible": p.decided_by,
                "Discussed with": p.discussed_with,
                "Note": p.note,
                "Review by": p.review_date,
                "Recorded by": _person(p.recorded_by),
                "Entered in error because": p.error_reason,
            },
            entered_in_error=p.status == ENTERED_IN_ERROR,
        )
        for p in plans.order_by("recorded_at", "pk")
    ]


def _alerts(patient: Patient) -> list[SectionEntry]:
    alerts = (
        ClinicalAlert.objects.filter(patient=patient).select_related("acknowledged_by").order_by("raised_at")
    )
    return [
        SectionEntry(
            id=str(a.pk),
            when=a.raised_at,
            summary=f"{a.get_severity_display()}: {alert_kind(a.kind).label}",
            details={
                "Raised": a.raised_at,
                "Kind": alert_kind(a.kind).label,
                "Severity": a.get_severity_display(),
                "Message": a.message,
                "Status": a.get_status_display(),
                "Acknowledged by": _person(a.acknowledged_by),
                "Acknowledged": a.acknowledged_at,
                "Response": a.response_note,
                "Informed": f"{a.informed} at {a.informed_at:%H:%M %d-%b-%Y}" if a.informed_at else "",
                "Outcome": a.get_outcome_display() if a.outcome else "",
                "Reviewed": f"{a.reviewed_by_name}: {a.review_note}" if a.reviewed_at else "",
            },
        )
        for a in alerts
    ]


def _care_plans(patient: Patient) -> list[SectionEntry]:
    return [
        SectionEntry(
            id=str(c.pk),
            when=c.created_at,
            summary=c.need,
            details={
                "Goals": "; ".join(c.goal_list),
                "Interventions": "; ".join(c.intervention_list),
                "Responsible": _person(c.responsible),
                "Team": str(c.team or ""),
                "Review by": c.review_date,
                "Status": c.get_status_display(),
                "Reviews": "; ".join(f"{r.reviewed_at:%d-%b-%Y} {r.outcome}" for r in c.reviews.all()),
                "Created by": _person(c.created_by),
            },
            entered_in_error=c.status == ENTERED_IN_ERROR,
        )
        for c in clinical_selectors.careplans_of(patient)
    ]


def _notes(patient: Patient) -> list[SectionEntry]:
    """Signed notes (drafts are the author's work in progress, not yet part of the record)."""
    notes = (
        ClinicalNote.objects.filter(patient=patient, signed_at__isnull=False)
        .select_related("author", "countersigned_by")
        .order_by("created_at")
    )
    return [
        SectionEntry(
            id=str(n.pk),
            when=n.signed_at or n.created_at,
            summary=f"{n.get_note_type_display()}: {n.title}",
            details={
                **dict(note_rows(n.fields, n.values)),
                "Notes": n.free_text,
                "Written by": _person(n.author),
                "Signed": n.signed_at,
                "Countersigned by": _person(n.countersigned_by) if n.countersigned_by else "",
                "Amendment reason": n.amendment_reason,
                "Status": n.get_status_display(),
            },
            entered_in_error=n.status == ENTERED_IN_ERROR,
        )
        for n in notes
    ]


def _role(code: str) -> str:
    return Role(code).label if code in Role.values else code


CHANNELS = {"page": "Web page", "api": "API", "export": "Export", "system": "System"}


def _audit_trail(patient: Patient) -> list[SectionEntry]:
    events = list(selectors.access_log(patient).order_by("at", "id"))
    names = {
        u.pk: u.get_full_name()
        for u in User.objects.filter(pk__in={e.user_id for e in events if e.user_id}).only(
            "first_name", "last_name"
        )
    }

    def who(e) -> str:
        if e.username:
            name = names.get(e.user_id, "")
            return f"{name} ({e.username})" if name else e.username
        return e.api_client or "The system"

    return [
        SectionEntry(
            id=str(e.pk),
            when=e.at,
            summary=f"{audit_action_label(e.action)} by {who(e)}",
            details={
                "When": e.at,
                "Who": who(e),
                "Role": _role(e.role),
                "Action": audit_action_label(e.action),
                # What was looked at, in a person's words: "Ward list (A1)", "NEWS2 chart".
                "What": describe(e),
                "How": CHANNELS.get(e.channel, e.channel),
                "Break-glass reason": e.break_glass_reason,
            },
        )
        for e in events
    ]


RECORD_SECTIONS = (
    Section("demographics", "Personal details", _demographics, order=10, models=(Patient,)),
    Section("admissions", "Admissions and ward stays", _admissions, order=20, models=(Encounter, WardStay)),
    Section("allergies", "Allergies and intolerances", _allergies, order=30, models=(AllergyIntolerance,)),
    Section("problems", "Problems and diagnoses", _problems, order=40, models=(Problem,)),
    Section(
        "observations",
        "Observations and NEWS2 scores",
        _observations,
        order=50,
        models=(ObservationSet,),
    ),
    Section("spo2-scale", "SpO2 scale decisions", _spo2_scales, order=55, models=(SpO2ScaleSetting,)),
    Section(
        "escalation-plans",
        "Resuscitation and treatment escalation decisions",
        _escalation_plans,
        order=58,
        models=(TreatmentEscalationPlan,),
    ),
    Section("alerts", "Clinical alerts", _alerts, order=60, models=(ClinicalAlert,)),
    Section("care-plans", "Care plans", _care_plans, order=70, models=(CarePlan,)),
    Section("notes", "Clinical notes", _notes, order=80, models=(ClinicalNote,)),
    Section("access-log", "Who accessed this record", _audit_trail, order=1000, table=True),
)


# Reads of the requests themselves ------------------------------------------------------------


def requests_of(patient: Patient) -> list[SubjectAccessRequest]:
    return list(
        SubjectAccessRequest.objects.filter(patient=patient)
        .select_related("logged_by")
        .order_by("-received_on", "-pk")
    )


def open_requests_for_user(user) -> list[SubjectAccessRequest]:
    """Open requests, nearest deadline first (overdue at the top); the list read is audited."""
    requests = list(
        SubjectAccessRequest.objects.exclude(status=SubjectAccessStatus.CLOSED)
        .select_related("patient", "logged_by")
        .order_by("deadline", "pk")
    )
    # The list names each patient: a row in each one's access log.
    audit_patients_shown(
        user=user,
        action=Action.VIEW,
        patient_ids=[r.patient_id for r in requests],
        detail={"list": "subject-access-requests"},
    )
    return requests
