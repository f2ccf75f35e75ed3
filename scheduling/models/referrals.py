"""Referrals in and out, their triage, and the waiting lists they join: each waiting-list entry
carries its referral-to-treatment (RTT) clock as the events that start, stop or pause it; the
waits and breach dates are computed from them by scheduling/rules/rtt.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from records.models import Patient, Specialty, Team

__all__ = [
    "ClockEvent",
    "Referral",
    "ReferralAttachment",
    "ReferralDirection",
    "ReferralPriority",
    "ReferralSource",
    "ReferralStatus",
    "WaitingKind",
    "WaitingListEntry",
    "WaitingStatus",
]


class ReferralDirection(models.TextChoices):
    INCOMING = "in", "Incoming"
    OUTGOING = "out", "Outgoing"


class ReferralSource(models.TextChoices):
    GP = "gp", "GP"
    OTHER_TRUST = "trust", "Another trust"
    INTERNAL = "internal", "Internal (consultant to consultant)"
    SELF = "self", "Self-referral"


class ReferralPriority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    TWO_WEEK_WAIT = "2ww", "Two-week wait (suspected cancer)"


class ReferralStatus(models.TextChoices):
    RECEIVED = "received", "Waiting for triage"
    ACCEPTED = "accepted", "Accepted"
    REDIRECTED = "redirected", "Redirected"
    REJECTED = "rejected", "Rejected"
    CLOSED = "closed", "Closed"


OPEN_REFERRAL = ("received", "accepted")


class Referral(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(
        max_length=3, choices=ReferralDirection.choices, default=ReferralDirection.INCOMING
    )
    source = models.CharField(max_length=10, choices=ReferralSource.choices)
    electronic = models.BooleanField(
        default=True, help_text="e-Referral Service or other electronic; else paper"
    )
    ubrn = models.CharField(max_length=12, blank=True, help_text="e-Referral Service booking reference")
    referrer_name = models.CharField(max_length=150)
    referrer_organisation = models.CharField(max_length=10, blank=True, help_text="ODS code")
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    service = models.CharField(max_length=150, help_text="The clinic or service referred to")
    priority = models.CharField(
        max_length=8, choices=ReferralPriority.choices, default=ReferralPriority.ROUTINE
    )
    reason = models.TextField()
    received_on = models.DateField(help_text="The RTT clock starts on the day the referral is received")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.RECEIVED)
    triage_outcome = models.CharField(max_length=300, blank=True)  # accepted to a clinic type or list
    triage_reason = models.TextField(blank=True)  # why rejected or redirected, sent back to the referrer
    redirected_to = models.CharField(max_length=150, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_on", "-pk"]
        permissions = [("triage_referral", "Can triage referrals")]
        indexes = [
            models.Index(
                fields=["status", "specialty"], condition=Q(status="received"), name="referral_to_triage"
            ),
            models.Index(fields=["patient", "status"], name="referral_patient"),
        ]

    def __str__(self) -> str:
        return f"Referral of {self.patient} to {self.service}"


class ReferralAttachment(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()  # in the database: backed up and access-controlled with the record
    size = models.PositiveIntegerField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["referral", "pk"]

    def __str__(self) -> str:
        return self.name


class WaitingKind(models.TextChoices):
    OUTPATIENT = "outpatient", "First outpatient appointment"
    ADMISSION = "admission", "Admission (inpatient or day case)"


class WaitingStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"


class WaitingListEntry(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="waiting")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=WaitingKind.choices)
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    priority = models.CharField(max_length=8, choices=ReferralPriority.choices)
    procedure = models.CharField(max_length=300, blank=True)  # for an admission
    status = models.CharField(max_length=8, choices=WaitingStatus.choices, default=WaitingStatus.WAITING)
    # Kept in step with the clock events by the service, so the list sorts by it in the database.
    breach_on = models.DateField(null=True, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    removed_reason = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["breach_on", "pk"]
        indexes = [
            models.Index(
                fields=["specialty", "breach_on"], condition=Q(status="waiting"), name="waiting_breach"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.get_kind_display().lower()}"


class ClockEvent(models.Model):
    """One event of an entry's RTT clock (scheduling/rules/rtt.py names the kinds and reasons)."""

    entry = models.ForeignKey(WaitingListEntry, on_delete=models.PROTECT, related_name="clock_events")
    kind = models.CharField(max_length=20)  # start, stop, decision-to-admit, pause
    on = models.DateField()
    until = models.DateField(null=True, blank=True)  # a pause's end
    reason = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["entry", "on", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.on}"
