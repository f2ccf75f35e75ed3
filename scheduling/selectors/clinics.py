"""Reads for clinics and booking, each in a fixed number of queries: the free-slot search (paged),
a patient's appointments, a session's clinic list (who is booked, arrived, seen), the sessions a
member of staff runs on a day, and the appointments the hospital cancelled that wait to be rebooked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from records.access import sees_by_role
from records.models import Patient
from scheduling.models import (
    ACTIVE_APPOINTMENT,
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Clinic,
    ClinicSession,
    SessionKind,
    SessionStatus,
    Slot,
    SlotStatus,
    TheatreCase,
)
from scheduling.rules.sessions import CLINIC_TIME

SLOTS_PER_PAGE = 25
SEARCH_DAYS = 42  # six weeks: the default span of a slot search
LONGEST_SEARCH_DAYS = 366


def uk_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CLINIC_TIME).astimezone(UTC)


@dataclass(frozen=True)
class SlotSearch:
    specialty: str = ""
    slot_type: str = ""
    consultant_id: int | None = None
    clinic_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def free_slots_queryset(search: SlotSearch, *, now: datetime | None = None) -> QuerySet[Slot]:
    now = now or timezone.now()
    first = search.date_from or timezone.localdate()
    last = search.date_to or first + timedelta(days=SEARCH_DAYS)
    slots = Slot.objects.filter(
        status=SlotStatus.FREE,
        starts_at__gte=max(now, uk_midnight(first)),
        starts_at__lt=uk_midnight(last + timedelta(days=1)),
        session__clinic__active=True,
        session__clinic__kind=SessionKind.CLINIC,  # a theatre list takes cases, not bookings
    ).exclude(session__status=SessionStatus.CANCELLED)
    if search.specialty:
        slots = slots.filter(session__clinic__specialty=search.specialty)
    if search.slot_type:
        slots = slots.filter(slot_type=search.slot_type)
    if search.consultant_id:
        slots = slots.filter(session__clinic__consultant_id=search.consultant_id)
    if search.clinic_id:
        slots = slots.filter(session__clinic_id=search.clinic_id)
    return slots.select_related("session__clinic__consultant", "session__clinic__site").order_by(
        "starts_at", "pk"
    )


def free_slots(search: SlotSearch, *, page: int = 1, per_page: int = SLOTS_PER_PAGE) -> Page[Slot]:
    """One page of free slots, soonest first: two queries (the count and the page) for any number."""
    return Paginator(free_slots_queryset(search), per_page).get_page(page)


def bookable_clinics() -> QuerySet[Clinic]:
    return Clinic.objects.filter(active=True).select_related("consultant", "site").order_by("name")


def consultants() -> list[Any]:
    """The consultants who hold active clinics, for the search's consultant choice."""
    seen: dict[int, Any] = {}
    for clinic in bookable_clinics():
        seen.setdefault(clinic.consultant_id, clinic.consultant)
    return sorted(seen.values(), key=lambda u: (u.last_name, u.first_name))


def slot_for_booking(slot_id: int) -> Slot | None:
    return (
        Slot.objects.select_related("session__clinic__consultant", "session__clinic__site")
        .filter(pk=slot_id)
        .first()
    )


def _appointment_joins(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return queryset.select_related(
        "slot__session__clinic__consultant",
        "slot__session__clinic__site",
        "patient",
        "booked_by",
        "status_changed_by",
        "rescheduled_from__slot",
        "rescheduled_to__slot",
    )


def patient_appointments(patient: Patient) -> list[Appointment]:
    """The patient's appointments: coming ones first (soonest first), then past and cancelled ones."""
    now = timezone.now()
    rows = list(_appointment_joins(Appointment.objects.filter(patient=patient)).order_by("slot__starts_at"))
    coming = [a for a in rows if a.slot.ends_at >= now and a.status != AppointmentStatus.CANCELLED]
    rest = [a for a in rows if a not in coming]
    return coming + sorted(rest, key=lambda a: a.slot.starts_at, reverse=True)


def appointment_of(patient: Patient, appointment_id: int) -> Appointment | None:
    return _appointment_joins(Appointment.objects.filter(patient=patient, pk=appointment_id)).first()


def may_see_clinic(user: Any, clinic: Clinic) -> bool:
    """Clinic staff (the clinic's group) see its lists; clerks, managers and administrators by role."""
    if sees_by_role(user):
        return True
    return bool(user.groups.filter(pk=clinic.staff_group_id).exists())


@dataclass(frozen=True)
class ClinicListRow:
    slot: Slot
    appointment: Appointment | None


@dataclass(frozen=True)
class ClinicList:
    session: ClinicSession
    rows: list[ClinicListRow]
    cancelled: list[Appointment]  # by the hospital for this session: the patients to rebook
    cases: list[TheatreCase]

    @property
    def patient_ids(self) -> list[int]:
        ids = [r.appointment.patient_id for r in self.rows if r.appointment]
        return ids + [a.patient_id for a in self.cancelled] + [c.patient_id for c in self.cases]

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            key = row.appointment.status if row.appointment else row.slot.status
            found[key] = found.get(key, 0) + 1
        return found


def session_of(session_id: int) -> ClinicSession | None:
    return (
        ClinicSession.objects.select_related("clinic__consultant", "clinic__site", "changed_by")
        .filter(pk=session_id)
        .first()
    )


def clinic_list(session: ClinicSession) -> ClinicList:
    """Every slot of the session with the appointment that holds it; the hospital's cancellations of
    it still to rebook; and its theatre cases. Four queries whatever the size of the clinic."""
    holding = Prefetch(
        "appointments",
        queryset=Appointment.objects.filter(status__in=ACTIVE_APPOINTMENT).select_related(
            "patient", "status_changed_by"
        ),
        to_attr="holding",
    )
    slots = list(Slot.objects.filter(session=session).prefetch_related(holding).order_by("starts_at", "pk"))
    rows = [ClinicListRow(s, s.holding[0] if s.holding else None) for s in slots]
    cancelled = list(
        Appointment.objects.filter(
            slot__session=session, status=AppointmentStatus.CANCELLED, cancelled_by=CancelledBy.HOSPITAL
        )
        .filter(rescheduled_to__isnull=True)
        .select_related("patient", "slot")
    )
    cases = list(TheatreCase.objects.filter(session=session).select_related("patient", "added_by"))
    return ClinicList(session, rows, cancelled, cases)


@dataclass(frozen=True)
class SessionSummary:
    session: ClinicSession
    booked: int
    arrived: int
    seen: int
    free: int


def sessions_on(user: Any, day: date) -> list[SessionSummary]:
    """The sessions on a UK day that the user may see (their clinics; every clinic for clerks,
    managers and administrators), with their counts: one query."""
    sessions = ClinicSession.objects.filter(
        starts_at__gte=uk_midnight(day), starts_at__lt=uk_midnight(day + timedelta(days=1))
    )
    if not sees_by_role(user):
        sessions = sessions.filter(clinic__staff_group__user=user)
    held = Q(slots__appointments__status__in=ACTIVE_APPOINTMENT)
    rows = (
        sessions.select_related("clinic__site", "clinic__consultant")
        .annotate(
            n_booked=Count("slots__appointments", filter=held, distinct=True),
            n_arrived=Count(
                "slots__appointments",
                filter=Q(slots__appointments__status=AppointmentStatus.ARRIVED),
                distinct=True,
            ),
            n_seen=Count(
                "slots__appointments",
                filter=Q(slots__appointments__status=AppointmentStatus.SEEN),
                distinct=True,
            ),
            n_free=Count("slots", filter=Q(slots__status=SlotStatus.FREE), distinct=True),
        )
        .order_by("starts_at", "clinic__name")
    )
    return [SessionSummary(s, s.n_booked, s.n_arrived, s.n_seen, s.n_free) for s in rows]


def to_rebook(*, limit: int = 200) -> list[Appointment]:
    """Appointments the hospital cancelled (a cancelled or reduced session, or a clerk's cancellation on
    the hospital's behalf) that no new appointment has replaced, oldest cancellation first."""
    since = timezone.now() - timedelta(days=180)
    return list(
        _appointment_joins(
            Appointment.objects.filter(
                status=AppointmentStatus.CANCELLED,
                cancelled_by=CancelledBy.HOSPITAL,
                rescheduled_to__isnull=True,
                status_changed_at__gte=since,
            )
        ).order_by("status_changed_at", "pk")[:limit]
    )


def session_for_change(session_id: int) -> ClinicSession | None:
    return ClinicSession.objects.select_related("clinic").filter(pk=session_id).first()


def to_rebook_count() -> int:
    """The menu's badge: one count query."""
    since = timezone.now() - timedelta(days=180)
    return Appointment.objects.filter(
        status=AppointmentStatus.CANCELLED,
        cancelled_by=CancelledBy.HOSPITAL,
        rescheduled_to__isnull=True,
        status_changed_at__gte=since,
    ).count()
