"""Scheduling's part of a patient's subject-access export: referrals with their waiting-list entries
and RTT clock events, appointments, theatre cases, bed requests, and the documents written."""

from __future__ import annotations

from records.models import Patient
from records.registries.subject_access import SectionEntry
from scheduling.models import (
    Appointment,
    BedRequest,
    ClinicalDocument,
    Referral,
    TheatreCase,
    WaitingListEntry,
)


def referral_entries(patient: Patient) -> list[SectionEntry]:
    referrals = Referral.objects.filter(patient=patient).order_by("received_on", "pk")
    return [
        SectionEntry(
            id=str(r.pk),
            when=r.received_on,
            summary=f"{r.get_direction_display()} referral to {r.service}",
            details={
                "From": r.referrer_name,
                "Priority": r.get_priority_display(),
                "Reason": r.reason,
                "Status": r.get_status_display(),
                "Triage": r.triage_outcome or r.triage_reason,
            },
        )
        for r in referrals
    ]


def waiting_entries(patient: Patient) -> list[SectionEntry]:
    entries = WaitingListEntry.objects.filter(patient=patient).prefetch_related("clock_events").order_by("pk")
    return [
        SectionEntry(
            id=str(e.pk),
            when=e.added_at,
            summary=f"Waiting list: {e.get_kind_display()}",
            details={"Status": e.get_status_display(), "Procedure": e.procedure, "Breach date": e.breach_on},
            rows=tuple(
                {"Event": c.kind, "On": c.on, "Until": c.until, "Reason": c.reason}
                for c in e.clock_events.all()
            ),
        )
        for e in entries
    ]


def appointment_entries(patient: Patient) -> list[SectionEntry]:
    appointments = (
        Appointment.objects.filter(patient=patient)
        .select_related("slot__session__clinic")
        .order_by("slot__starts_at")
    )
    return [
        SectionEntry(
            id=str(a.pk),
            when=a.slot.starts_at,
            summary=f"Appointment: {a.slot.session.clinic.name}",
            details={
                "Type": a.slot.get_slot_type_display(),
                "Status": a.get_status_display(),
                "Cancelled by": a.get_cancelled_by_display() if a.cancelled_by else "",
                "Reason": a.cancel_reason,
            },
        )
        for a in appointments
    ]


def theatre_entries(patient: Patient) -> list[SectionEntry]:
    cases = TheatreCase.objects.filter(patient=patient).select_related("session__clinic").order_by("pk")
    return [
        SectionEntry(
            id=str(c.pk),
            when=c.session.starts_at,
            summary=f"Theatre list: {c.procedure}",
            details={"List": c.session.clinic.name, "Cancelled": c.cancel_reason if c.cancelled else ""},
        )
        for c in cases
    ]


def bed_request_entries(patient: Patient) -> list[SectionEntry]:
    requests = BedRequest.objects.filter(patient=patient).select_related("bed__ward").order_by("requested_at")
    return [
        SectionEntry(
            id=str(r.pk),
            when=r.requested_at,
            summary=f"Bed request from {r.get_source_display()}",
            details={
                "Status": r.get_status_display(),
                "Bed": f"{r.bed.ward.name}, {r.bed}" if r.bed else "",
                "Needs": r.needs,
            },
        )
        for r in requests
    ]


def document_entries(patient: Patient) -> list[SectionEntry]:
    documents = (
        ClinicalDocument.objects.filter(patient=patient).select_related("signed_by").order_by("created_at")
    )
    return [
        SectionEntry(
            id=str(d.pk),
            when=d.signed_at or d.created_at,
            summary=d.get_kind_display(),
            details={"Status": d.get_status_display(), "Signed by": str(d.signed_by or ""), **d.sections},
            entered_in_error=d.status == "entered-in-error",
        )
        for d in documents
    ]
