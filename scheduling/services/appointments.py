"""Booking, moving and cancelling appointments, and recording what happened (arrived, seen, did not
attend, could not wait). A slot holds one appointment at a time: booking locks the slot's row, so of
two clerks booking one slot at once the second waits, then finds it taken and is told so; the
database's appointment_one_per_slot constraint is the last guard. While a patient has an appointment
in a clinic, the clinic's staff group has a care relationship with them, until the end of the
appointment's day plus the grace period (EPR_CARE_GRACE_PERIOD), ended sooner when it is cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import CareRelationship, Patient
from records.services.access import care_access_sync, care_relationship_end, care_relationship_start
from records.services.entries import lock_for_edit
from records.services.patients import patient_require_writable
from scheduling.models import (
    ACTIVE_APPOINTMENT,
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Clinic,
    SessionKind,
    SessionStatus,
    Slot,
    SlotStatus,
)
from scheduling.rules.sessions import CLINIC_TIME

CARE_KIND = "clinic"  # registered in wiring.py: "Clinic appointment"

SLOT_TAKEN = "That slot was booked by someone else a moment ago. Choose another slot."

# What may be recorded after what. "Back to booked" undoes an arrival or a DNA recorded by mistake.
NEXT: dict[str, frozenset[str]] = {
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.ARRIVED, AppointmentStatus.DNA, AppointmentStatus.SEEN}
    ),
    AppointmentStatus.ARRIVED: frozenset(
        {AppointmentStatus.SEEN, AppointmentStatus.COULD_NOT_WAIT, AppointmentStatus.BOOKED}
    ),
    AppointmentStatus.DNA: frozenset({AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED}),
    AppointmentStatus.COULD_NOT_WAIT: frozenset({AppointmentStatus.ARRIVED}),
    AppointmentStatus.SEEN: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
}


def day_end(at: datetime) -> datetime:
    """Midnight at the end of the UK day `at` falls on, in UTC."""
    day = at.astimezone(CLINIC_TIME).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=CLINIC_TIME).astimezone(UTC)


def care_sync(*, patient: Patient, clinic: Clinic, now: datetime | None = None) -> None:
    """The clinic staff's care relationship with the patient matches their appointments there: open
    until the end of the last appointment's day plus the grace period; ended (with the grace period)
    when none is left."""
    now = now or timezone.now()
    latest = Appointment.objects.filter(
        patient=patient, slot__session__clinic=clinic, status__in=ACTIVE_APPOINTMENT
    ).aggregate(last=Max("slot__starts_at"))["last"]
    current = (
        CareRelationship.objects.select_for_update()
        .filter(patient=patient, group_id=clinic.staff_group_id, kind=CARE_KIND, access_withdrawn=False)
        .order_by("-started_at")
        .first()
    )
    if latest is not None:
        until = day_end(latest)
        if current is None:
            current = care_relationship_start(
                patient=patient, group=clinic.staff_group, kind=CARE_KIND, encounter=None, at=now
            )
        if current.ends_at != until + settings.EPR_CARE_GRACE_PERIOD:
            care_relationship_end(relationship=current, at=until)
        return
    if current is not None and (
        current.ends_at is None or current.ends_at > now + settings.EPR_CARE_GRACE_PERIOD
    ):
        care_relationship_end(relationship=current, at=now)
    elif current is not None:
        care_access_sync(patient=patient)


def _lock_slot(slot: Slot) -> Slot:
    return Slot.objects.select_for_update(of=("self",)).select_related("session__clinic").get(pk=slot.pk)


def _refuse_slot(slot: Slot, patient: Patient, now: datetime) -> None:
    if slot.status == SlotStatus.BLOCKED or slot.session.status == SessionStatus.CANCELLED:
        raise RecordError("That slot is no longer available: its session was cancelled or reduced.")
    if (
        slot.status == SlotStatus.BOOKED
        or Appointment.objects.filter(slot=slot, status__in=ACTIVE_APPOINTMENT).exists()
    ):
        raise RecordError(SLOT_TAKEN)
    if slot.starts_at <= now:
        raise RecordError("That slot's time has passed. Choose a later slot.")
    if not slot.session.clinic.active:
        raise RecordError("That clinic is closed to bookings.")
    if slot.session.clinic.kind != SessionKind.CLINIC:
        raise RecordError("That is a theatre session: add the patient to its list of cases instead.")
    clash = (
        Appointment.objects.filter(
            patient=patient,
            status__in=ACTIVE_APPOINTMENT,
            slot__starts_at__lt=slot.ends_at,
            slot__ends_at__gt=slot.starts_at,
        )
        .select_related("slot__session__clinic")
        .first()
    )
    if clash is not None:
        raise RecordError(
            f"The patient already has an appointment then: {clash.slot.session.clinic.name} at "
            f"{clash.slot.starts_at.astimezone(CLINIC_TIME):%H:%M}."
        )


def _book(
    *,
    by: Any,
    patient: Patient,
    slot: Slot,
    notes: str,
    rescheduled_from: Appointment | None,
    now: datetime,
    client: str = "",
) -> Appointment:
    locked = _lock_slot(slot)
    _refuse_slot(locked, patient, now)
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                slot=locked,
                patient=patient,
                booked_by=by,
                booked_by_client=client[:200] if by is None else "",
                booked_at=now,
                notes=" ".join((notes or "").split())[:500],
                rescheduled_from=rescheduled_from,
            )
    except IntegrityError as exc:  # appointment_one_per_slot: the last guard
        raise RecordError(SLOT_TAKEN) from exc
    locked.status = SlotStatus.BOOKED
    locked.save(update_fields=["status"])
    audit_record(
        user=by,
        action=Action.CREATE,
        patient_id=patient.pk,
        obj=appointment,
        detail={"rescheduled_from": rescheduled_from.pk} if rescheduled_from else None,
    )
    care_sync(patient=patient, clinic=locked.session.clinic, now=now)
    return appointment


@transaction.atomic
def appointment_book(
    *, by: Any, patient: Patient, slot: Slot, notes: str = "", client: str = ""
) -> Appointment:
    """Book the slot for the patient: by a member of staff, or (by None) by the API client named."""
    if by is None and not client:
        raise RecordError("Say who books the appointment.")
    patient_require_writable(patient)
    return _book(
        by=by,
        patient=patient,
        slot=slot,
        notes=notes,
        rescheduled_from=None,
        now=timezone.now(),
        client=client,
    )


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise RecordError("Enter why the appointment is cancelled.", field="reason")
    return reason[:300]


def _refuse_not_booked(appointment: Appointment) -> str:
    if appointment.status == AppointmentStatus.CANCELLED:
        return "This appointment is already cancelled."
    if appointment.status != AppointmentStatus.BOOKED:
        return (
            f"This appointment is recorded as {appointment.get_status_display().lower()}: "
            "only a booked appointment can be cancelled or moved."
        )
    return ""


def cancel_locked(
    *, by: Any, appointment: Appointment, cancelled_by: str, reason: str, slot_status: str = SlotStatus.FREE
) -> Appointment:
    """Cancel an appointment already locked by the caller's transaction; the slot goes back to
    `slot_status` (free again, or blocked when its session is cancelled)."""
    now = timezone.now()
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_by = cancelled_by
    appointment.cancel_reason = reason
    appointment.status_changed_at = now
    appointment.status_changed_by = by
    appointment.version += 1
    appointment._change_reason = f"Cancelled by {cancelled_by}: {reason}"  # type: ignore[attr-defined]
    appointment.save()
    slot = _lock_slot(appointment.slot)
    if slot.status != SlotStatus.BLOCKED:
        slot.status = slot_status
        slot.save(update_fields=["status"])
    audit_record(
        user=by,
        action=Action.UPDATE,
        patient_id=appointment.patient_id,
        obj=appointment,
        detail={"status": "cancelled", "cancelled_by": cancelled_by},
    )
    care_sync(patient=appointment.patient, clinic=slot.session.clinic, now=now)
    return appointment


def _lock_appointment(appointment: Appointment, version: int | None, refuse: Any = None) -> Appointment:
    return lock_for_edit(
        appointment,
        version,
        noun="appointment",
        refuse=refuse,
        # Only the appointment's row: a join here would lock its clinic and patient rows too.
        queryset=Appointment.objects.all(),
    )


def _lock_slots_first(*slot_ids: int) -> None:
    """Slots before appointments, in id order: the order a session's cancellation takes them in, so
    a cancellation, a move and a session change at once wait for each other and never deadlock."""
    list(Slot.objects.select_for_update(of=("self",)).filter(pk__in=slot_ids).order_by("pk"))


@transaction.atomic
def appointment_cancel(
    *, by: Any, appointment: Appointment, cancelled_by: str, reason: str, version: int | None
) -> Appointment:
    if cancelled_by not in CancelledBy.values:
        raise RecordError("Select who asked for the cancellation.", field="cancelled_by")
    reason = _clean_reason(reason)
    _lock_slots_first(appointment.slot_id)
    locked = _lock_appointment(appointment, version, _refuse_not_booked)
    return cancel_locked(by=by, appointment=locked, cancelled_by=cancelled_by, reason=reason)


@transaction.atomic
def appointment_reschedule(
    *, by: Any, appointment: Appointment, slot: Slot, cancelled_by: str, reason: str, version: int | None
) -> Appointment:
    """Move a booked appointment to another slot in one transaction: the old one cancelled (who asked
    and why), the new one booked with rescheduled_from; if the new slot is taken, nothing changes."""
    if cancelled_by not in CancelledBy.values:
        raise RecordError("Select who asked for the change.", field="cancelled_by")
    reason = _clean_reason(reason)
    _lock_slots_first(appointment.slot_id, slot.pk)
    locked = _lock_appointment(appointment, version, _refuse_not_booked)
    if slot.pk == locked.slot_id:
        raise RecordError("That is the slot the appointment is already in.")
    cancel_locked(by=by, appointment=locked, cancelled_by=cancelled_by, reason=f"Rescheduled: {reason}")
    return _book(
        by=by,
        patient=locked.patient,
        slot=slot,
        notes=locked.notes,
        rescheduled_from=locked,
        now=timezone.now(),
    )


def _refuse_not_to_rebook(appointment: Appointment) -> str:
    if appointment.status != AppointmentStatus.CANCELLED or appointment.cancelled_by != CancelledBy.HOSPITAL:
        return "Only an appointment the hospital cancelled is rebooked from the list."
    if Appointment.objects.filter(rescheduled_from=appointment).exists():
        return "This appointment was already rebooked."
    return ""


@transaction.atomic
def appointment_rebook(*, by: Any, appointment: Appointment, slot: Slot) -> Appointment:
    """Book the patient of an appointment the hospital cancelled (a cancelled or reduced session) into
    a new slot; the new appointment keeps where it came from, which takes it off the "To rebook" list."""
    locked = _lock_appointment(appointment, None, _refuse_not_to_rebook)
    patient_require_writable(locked.patient)
    return _book(
        by=by,
        patient=locked.patient,
        slot=slot,
        notes=locked.notes,
        rescheduled_from=locked,
        now=timezone.now(),
    )


@transaction.atomic
def appointment_record(
    *, by: Any, appointment: Appointment, status: str, version: int | None, at: datetime | None = None
) -> Appointment:
    """Record arrived, seen, did not attend or could not wait (or undo an arrival or a DNA), with when
    and by whom."""
    now = timezone.now()
    locked = _lock_appointment(appointment, version)
    if status not in NEXT.get(locked.status, frozenset()):
        raise RecordError(
            f"This appointment is {locked.get_status_display().lower()}: it cannot be recorded as "
            f"{AppointmentStatus(status).label.lower() if status in AppointmentStatus.values else status}."
        )
    if status != AppointmentStatus.BOOKED:
        starts = locked.slot.starts_at
        day_start = day_end(starts) - timedelta(days=1)
        if now < day_start - timedelta(hours=1):
            raise RecordError("The appointment is on a later day: record this on the day.")
        if status == AppointmentStatus.DNA and now < starts:
            raise RecordError(
                "The appointment time has not come yet: a patient cannot miss it before it starts."
            )
    locked.status = status
    locked.status_changed_at = at or now
    locked.status_changed_by = by
    locked.version += 1
    locked._change_reason = f"Recorded {AppointmentStatus(status).label.lower()}"  # type: ignore[attr-defined]
    locked.save()
    audit_record(
        user=by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"status": status}
    )
    return locked


@transaction.atomic
def appointment_note(*, by: Any, appointment: Appointment, notes: str, version: int | None) -> Appointment:
    """Change the appointment's note (what to bring, transport, an interpreter); nothing else."""
    locked = _lock_appointment(appointment, version)
    if locked.status == AppointmentStatus.CANCELLED:
        raise RecordError("This appointment is cancelled: its note can no longer be changed.")
    notes = (notes or "").strip()
    if len(notes) > 500:
        raise RecordError("Keep the note to 500 characters.", field="notes")
    locked.notes = notes
    locked.version += 1
    locked._change_reason = "Note changed"  # type: ignore[attr-defined]
    locked.save(update_fields=["notes", "version"])
    audit_record(
        user=by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"field": "notes"}
    )
    return locked


def letter_exported(*, by: Any, appointment: Appointment) -> None:
    """The appointment letter was downloaded: an export of the patient's data."""
    audit_record(
        user=by,
        action=Action.EXPORT,
        patient_id=appointment.patient_id,
        obj=appointment,
        channel=Channel.EXPORT,
        detail={"document": "appointment letter"},
    )
