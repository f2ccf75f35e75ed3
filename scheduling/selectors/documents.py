"""Reads for the documents: the headings of each kind of document (records' registry's sections and
scheduling's own, merged in print order) and their prefilled text; a document's printed sections; a
patient's discharge summaries and letters with their deliveries (a fixed number of queries however
many); the admissions and attendances still waiting for one; one document for the editor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from records.models import Encounter, Patient
from records.registries import documents as registry
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    ClinicalDocument,
    DocumentDelivery,
    DocumentKind,
    DocumentStatus,
)
from scheduling.renderings import PrintedSection

NOT_YET_DISCHARGED = "Not yet discharged"
MAX_SECTION = 20_000  # characters: a section longer than this is a paste gone wrong
DEMOGRAPHICS, GP_PRACTICE, PERSON_COMPLETING = "patient-demographics", "gp-practice", "person-completing"


@dataclass(frozen=True)
class Heading:
    """One heading of a document as it prints: from the registry, scheduling's own, or fixed (filled
    from the record at signing, not typed)."""

    key: str
    heading: str
    order: int
    mandatory: bool = False
    fixed: bool = False


def _when(value: datetime | None) -> str:
    return f"{timezone.localtime(value):%d-%b-%Y %H:%M}" if value else "not recorded"


def _admission_details(document: ClinicalDocument) -> str:
    encounter = document.encounter
    if encounter is None:
        return ""
    lines = [
        f"Admitted: {_when(encounter.admitted_at)} ({encounter.get_admission_method_display()})",
        f"Specialty: {encounter.get_specialty_display()}",
        f"Consultant: {encounter.consultant.get_full_name() or encounter.consultant.get_username()}",
    ]
    return "\n".join(lines)


def discharge_details(document: ClinicalDocument) -> str:
    encounter = document.encounter
    if encounter is None:
        return ""
    if encounter.discharged_at is None:
        expected = encounter.expected_discharge_date
        return (
            f"{NOT_YET_DISCHARGED}; expected {expected:%d-%b-%Y}." if expected else f"{NOT_YET_DISCHARGED}."
        )
    destination = encounter.get_discharge_destination_display() or "not recorded"
    return f"Discharged: {_when(encounter.discharged_at)}\nDestination: {destination}"


def _attendance_details(document: ClinicalDocument) -> str:
    appointment = document.appointment
    if appointment is None:
        return ""
    clinic = appointment.slot.session.clinic
    consultant = clinic.consultant.get_full_name() or clinic.consultant.get_username()
    return "\n".join(
        [
            f"Seen: {_when(appointment.slot.starts_at)}, {clinic.name}",
            f"Specialty: {clinic.get_specialty_display()}; consultant {consultant}",
            f"Appointment type: {appointment.slot.get_slot_type_display()}",
        ]
    )


def _blank(document: ClinicalDocument) -> str:
    return ""


@dataclass(frozen=True)
class OwnSection:
    heading: Heading
    documents: frozenset[str]
    prefill: Callable[[ClinicalDocument], str]


DS, CL = frozenset({DocumentKind.DISCHARGE_SUMMARY.value}), frozenset({DocumentKind.CLINIC_LETTER.value})
BOTH = DS | CL
# The headings the record does not hold elsewhere: the admission or attendance and the author's words.
OWN_SECTIONS = (
    OwnSection(Heading("admission-details", "Admission details", 10), DS, _admission_details),
    OwnSection(
        Heading("attendance-details", "Attendance details", 10, mandatory=True), CL, _attendance_details
    ),
    OwnSection(Heading("history", "History", 15), CL, _blank),
    OwnSection(Heading("clinical-summary", "Clinical summary", 20, mandatory=True), BOTH, _blank),
    OwnSection(Heading("examination-findings", "Examination findings", 25), CL, _blank),
    OwnSection(Heading("discharge-details", "Discharge details", 70), DS, discharge_details),
    OwnSection(Heading("plan", "Plan and requested actions", 80), BOTH, _blank),
    OwnSection(Heading("information-given", "Information and advice given", 90), BOTH, _blank),
)
# Filled from the record when the document is signed; PRSB mandatory in both documents.
FIXED = (
    Heading(DEMOGRAPHICS, "Patient demographics", 1, mandatory=True, fixed=True),
    Heading(GP_PRACTICE, "GP practice", 2, mandatory=True, fixed=True),
    Heading(PERSON_COMPLETING, "Person completing record", 200, mandatory=True, fixed=True),
)


def headings(kind: str) -> list[Heading]:
    """Every heading of this kind of document, in print order."""
    found = [Heading(s.key, s.heading, s.order, s.mandatory) for s in registry.document_sections(kind)] + [
        s.heading for s in OWN_SECTIONS if kind in s.documents
    ]
    return sorted([*FIXED, *found], key=lambda h: (h.order, h.key))


def editable_headings(kind: str) -> list[Heading]:
    return [h for h in headings(kind) if not h.fixed]


def prefilled(document: ClinicalDocument) -> dict[str, str]:
    context = registry.DocumentContext(
        patient=document.patient, encounter=document.encounter, author=document.author
    )
    texts = {key: draft.text for key, draft in registry.prefill(document.kind, context).items()}
    for own in OWN_SECTIONS:
        if document.kind in own.documents:
            texts[own.heading.key] = own.prefill(document)
    return texts


def demographics_text(document: ClinicalDocument) -> str:
    patient = document.patient
    lines = [f"Name: {patient.display_name}"]
    lines.append(
        f"Date of birth: {patient.date_of_birth:%d-%b-%Y}"
        if patient.date_of_birth
        else "Date of birth: not known"
    )
    if patient.nhs_number:
        lines.append(f"NHS number: {patient.nhs_number_display}")
    lines.append(f"Hospital number: {patient.hospital_number}")
    lines.append(f"Sex: {patient.get_sex_display()}")
    if patient.address_display:
        lines.append(f"Address: {patient.address_display}")
    return "\n".join(lines)


def gp_practice_text(document: ClinicalDocument) -> str:
    patient = document.patient
    if not patient.gp_practice_code:
        return "No GP practice recorded."
    name = patient.gp_practice_name or "GP practice"
    return f"{name} (ODS code {patient.gp_practice_code})"


def person_completing_text(user: Any, when: datetime) -> str:
    name = user.get_full_name() or user.get_username()
    registration = getattr(user, "professional_registration", "")
    suffix = f", {registration}" if registration else ""
    return f"{name}{suffix}. Signed {_when(when)}."


def printed_sections(document: ClinicalDocument) -> list[PrintedSection]:
    """The document's headings with their text, in print order (a draft's fixed headings are filled
    from the record as it is now; a signed one's were frozen when it was signed)."""
    texts = dict(document.sections)
    if document.status != DocumentStatus.SIGNED:
        texts.setdefault(DEMOGRAPHICS, demographics_text(document))
        texts.setdefault(GP_PRACTICE, gp_practice_text(document))
        texts.setdefault(PERSON_COMPLETING, "Not signed yet.")
    return [
        PrintedSection(h.key, h.heading, texts.get(h.key, ""), h.mandatory) for h in headings(document.kind)
    ]


RECENT = 5  # the admissions and attendances offered for a new document


def _documents() -> QuerySet[ClinicalDocument]:
    return ClinicalDocument.objects.select_related(
        "patient", "author", "signed_by", "encounter", "appointment__slot__session__clinic"
    ).prefetch_related(Prefetch("deliveries", queryset=DocumentDelivery.objects.order_by("pk")))


def patient_documents(patient: Patient) -> list[ClinicalDocument]:
    """Every document of the patient, newest first, with its deliveries."""
    return list(_documents().filter(patient=patient).order_by("-created_at", "-pk"))


def document_for(patient: Patient, document_id: int) -> ClinicalDocument:
    """One of the patient's documents (DoesNotExist for another patient's: the caller answers 404)."""
    found: ClinicalDocument = _documents().get(patient=patient, pk=document_id)
    return found


def admissions_without_summary(patient: Patient) -> list[Encounter]:
    """The patient's latest admissions (current or discharged) that have no discharge summary yet."""
    summary = ClinicalDocument.objects.filter(
        encounter=OuterRef("pk"), kind=DocumentKind.DISCHARGE_SUMMARY
    ).exclude(status=DocumentStatus.ENTERED_IN_ERROR)
    return list(
        Encounter.objects.filter(patient=patient).filter(~Exists(summary)).order_by("-admitted_at")[:RECENT]
    )


def attendances_without_letter(patient: Patient) -> list[Appointment]:
    """The patient's latest clinic attendances (seen) with no letter yet."""
    letter = ClinicalDocument.objects.filter(appointment=OuterRef("pk")).exclude(
        status=DocumentStatus.ENTERED_IN_ERROR
    )
    return list(
        Appointment.objects.filter(patient=patient, status=AppointmentStatus.SEEN)
        .filter(~Exists(letter))
        .select_related("slot__session__clinic")
        .order_by("-slot__starts_at")[:RECENT]
    )


@dataclass(frozen=True)
class EditorRow:
    section: PrintedSection
    fixed: bool  # filled from the record, not typed


def editor_rows(document: ClinicalDocument) -> list[EditorRow]:
    fixed = {h.key for h in headings(document.kind) if h.fixed}
    return [EditorRow(s, s.key in fixed) for s in printed_sections(document)]
