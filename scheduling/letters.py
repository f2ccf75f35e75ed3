"""The appointment letter as a PDF (WeasyPrint): to the patient at their address, the clinic, the day
and time in UK time, where to go, what to bring, and the line to ring to change it. Downloading it
is audited as an export (scheduling/services/appointments.py letter_exported)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from records.models import Patient
from records.rules.patients import format_nhs_number
from scheduling.models import Appointment, SlotType
from scheduling.rules.sessions import CLINIC_TIME

# Shown on every letter; a trust sets its own (EPR_APPOINTMENTS_CONTACT). The default number is in
# Ofcom's range kept for drama, so it rings nobody.
DEFAULT_CONTACT = "Appointments office: 01632 960000, Monday to Friday 8am to 6pm"

BRING = {
    SlotType.NEW: (
        "a list of the medicines you take, this letter, and your glasses or hearing aids if you use them"
    ),
    SlotType.FOLLOW_UP: "a list of the medicines you take and this letter",
    SlotType.PRE_OP: (
        "a list of the medicines you take (or the medicines themselves), this letter, and the name of "
        "someone who can take you home after your operation"
    ),
    SlotType.PROCEDURE: "a list of the medicines you take and this letter; wear loose, comfortable clothes",
    SlotType.TELEPHONE: "nothing: we will ring you at the time above. Have a list of your medicines to hand",
    SlotType.VIDEO: (
        "nothing: we will send you a link for the video call. Have a list of your medicines to hand"
    ),
}

REMOTE = frozenset({SlotType.TELEPHONE, SlotType.VIDEO})


@dataclass(frozen=True)
class Letter:
    addressee: str
    address: list[str]
    salutation: str
    clinic: str
    consultant: str
    when_day: str  # "Tuesday 14 July 2026"
    when_time: str  # "09:30"
    kind: str
    remote: bool
    where: list[str]
    bring: str
    notes: str
    hospital_number: str
    nhs_number: str
    contact: str
    written: str


def _name(patient: Patient) -> str:
    title = f"{patient.title} " if getattr(patient, "title", "") else ""
    return f"{title}{patient.given_names} {patient.family_name}".strip()


def letter_for(appointment: Appointment) -> Letter:
    patient = appointment.patient
    slot = appointment.slot
    clinic = slot.session.clinic
    local = slot.starts_at.astimezone(CLINIC_TIME)
    address = [
        line
        for line in (patient.address_line_1, patient.address_line_2, patient.town, patient.postcode)
        if line
    ]
    return Letter(
        addressee=_name(patient),
        address=address,
        salutation=f"Dear {_name(patient)}",
        clinic=clinic.name,
        consultant=clinic.consultant.get_full_name(),
        when_day=f"{local:%A} {local.day} {local:%B %Y}",
        when_time=f"{local:%H:%M}",
        kind=SlotType(slot.slot_type).label,
        remote=slot.slot_type in REMOTE,
        where=[part for part in (clinic.location, clinic.site.name) if part],
        bring=BRING.get(SlotType(slot.slot_type), BRING[SlotType.FOLLOW_UP]),
        notes=appointment.notes,
        hospital_number=patient.hospital_number,
        nhs_number=format_nhs_number(patient.nhs_number) if patient.nhs_number else "",
        contact=getattr(settings, "EPR_APPOINTMENTS_CONTACT", "") or DEFAULT_CONTACT,
        written=f"{timezone.localdate():%d %B %Y}",
    )


def appointment_letter_pdf(appointment: Appointment) -> bytes:
    from weasyprint import HTML  # imported when a letter is made: it loads pango and fonts

    html = render_to_string("scheduling/clinics/letter.html", {"letter": letter_for(appointment)})
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
