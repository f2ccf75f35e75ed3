"""Clinics and their sessions: a clinic (specialty, consultant, place) has session templates that
repeat (scheduling/rules/sessions.py); sessions are generated ahead from them, each with its slots;
an appointment books one slot, never two at once (a database constraint). Theatre sessions are
sessions too, with an ordered list of cases."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from records.models import Patient, Site, Specialty

__all__ = [
    "ACTIVE_APPOINTMENT",
    "Appointment",
    "AppointmentStatus",
    "CancelledBy",
    "Clinic",
    "ClinicSession",
    "Recurrence",
    "SessionKind",
    "SessionStatus",
    "SessionTemplate",
    "Slot",
    "SlotStatus",
    "SlotType",
    "TheatreCase",
]


class SlotType(models.TextChoices):
    NEW = "new", "New"
    FOLLOW_UP = "follow-up", "Follow-up"
    PRE_OP = "pre-op", "Pre-operative assessment"
    TELEPHONE = "telephone", "Telephone"
    VIDEO = "video", "Video"
    PROCEDURE = "procedure", "Procedure"


class SessionKind(models.TextChoices):
    CLINIC = "clinic", "Clinic"
    THEATRE = "theatre", "Theatre"


class Clinic(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=150)
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    location = models.CharField(max_length=150, blank=True, help_text="Outpatients B, room 4")
    kind = models.CharField(max_length=8, choices=SessionKind.choices, default=SessionKind.CLINIC)
    staff_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="clinic")
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("book_appointment", "Can book, move and cancel appointments")]

    def __str__(self) -> str:
        return self.name


class Recurrence(models.TextChoices):
    WEEKLY = "weekly", "Every week"
    FORTNIGHTLY = "fortnightly", "Every other week"
    MONTHLY = "monthly", "One weekday of the month (1st to 4th, or last)"


class SessionTemplate(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="templates")
    weekday = models.PositiveSmallIntegerField(help_text="0 Monday ... 6 Sunday")
    starts = models.TimeField(help_text="UK local time")
    ends = models.TimeField()
    recurrence = models.CharField(max_length=12, choices=Recurrence.choices, default=Recurrence.WEEKLY)
    anchor = models.DateField(null=True, blank=True, help_text="A date of the fortnightly series")
    nth = models.SmallIntegerField(null=True, blank=True, help_text="1 to 4, or -1 for the last (monthly)")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    slot_minutes = models.PositiveSmallIntegerField(default=15)
    slot_type = models.CharField(max_length=10, choices=SlotType.choices, default=SlotType.FOLLOW_UP)
    # An explicit layout instead: [[minutes, type], ...], laid once from the start.
    slot_layout = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["clinic", "weekday", "starts"]

    def __str__(self) -> str:
        return f"{self.clinic} {self.get_recurrence_display()} {self.starts:%H:%M}"


class SessionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    REDUCED = "reduced", "Reduced"
    CANCELLED = "cancelled", "Cancelled"


class ClinicSession(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="sessions")
    template = models.ForeignKey(
        SessionTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.PLANNED)
    change_reason = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            # Generating ahead twice (two beat runs) makes each session once.
            models.UniqueConstraint(fields=["template", "starts_at"], name="session_once_per_template"),
        ]
        indexes = [models.Index(fields=["clinic", "starts_at"], name="session_clinic_start")]

    def __str__(self) -> str:
        return f"{self.clinic} {self.starts_at:%Y-%m-%d %H:%M}"


class SlotStatus(models.TextChoices):
    FREE = "free", "Free"
    BOOKED = "booked", "Booked"
    BLOCKED = "blocked", "Blocked"  # a reduced or cancelled session's slot


class Slot(models.Model):
    session = models.ForeignKey(ClinicSession, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    slot_type = models.CharField(max_length=10, choices=SlotType.choices)
    status = models.CharField(max_length=8, choices=SlotStatus.choices, default=SlotStatus.FREE)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["starts_at"], condition=Q(status="free"), name="slot_free_start"),
            models.Index(fields=["session", "starts_at"], name="slot_session_start"),
        ]

    def __str__(self) -> str:
        return f"{self.session.clinic} {self.starts_at:%Y-%m-%d %H:%M} {self.slot_type}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    SEEN = "seen", "Seen"
    DNA = "dna", "Did not attend"
    COULD_NOT_WAIT = "left", "Could not wait"
    CANCELLED = "cancelled", "Cancelled"


# An appointment holding its slot: while one exists, nobody else can book the slot.
ACTIVE_APPOINTMENT = ("booked", "arrived", "seen", "dna", "left")


class CancelledBy(models.TextChoices):
    PATIENT = "patient", "The patient"
    HOSPITAL = "hospital", "The hospital"


class Appointment(models.Model):
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey(
        "scheduling.Referral", on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    status = models.CharField(
        max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Booked by another system through the API (its OAuth application), when no person booked it.
    booked_by_client = models.CharField(max_length=200, blank=True)
    booked_at = models.DateTimeField()
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_by = models.CharField(max_length=10, choices=CancelledBy.choices, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    rescheduled_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="rescheduled_to"
    )
    notes = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["slot__starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status__in=ACTIVE_APPOINTMENT), name="appointment_one_per_slot"
            ),
            models.CheckConstraint(
                condition=Q(booked_by__isnull=False) | ~Q(booked_by_client=""), name="appointment_has_booker"
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="appointment_patient")]

    def __str__(self) -> str:
        return f"{self.patient} at {self.slot}"


class TheatreCase(models.Model):
    session = models.ForeignKey(ClinicSession, on_delete=models.PROTECT, related_name="cases")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    procedure = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField()
    expected_minutes = models.PositiveSmallIntegerField(default=60)
    cancelled = models.BooleanField(default=False)
    cancel_reason = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["session", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}. {self.procedure}"
