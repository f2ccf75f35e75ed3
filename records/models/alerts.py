"""Clinical decision-support alerts: one open alert per patient per condition, addressed to a ward and a
team, answered with a recorded response, every trigger and answer kept."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q

from records.models.core import Patient

__all__ = [
    "ACTIVE_ALERT_STATUSES",
    "AlertEvent",
    "AlertEventAction",
    "AlertKind",
    "AlertOutcome",
    "AlertSeverity",
    "AlertStatus",
    "AlertTrigger",
    "ClinicalAlert",
]


class AlertKind(models.TextChoices):
    """records' own kinds; the field is open to every kind registered (records/registries/alerts.py)."""

    NEWS2 = "news2", "NEWS2 escalation"
    OBS_OVERDUE = "obs_overdue", "Observations overdue"


class AlertSeverity(models.TextChoices):
    ALERT = "alert", "Alert"
    URGENT = "urgent", "Urgent"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Awaiting response"
    ESCALATED = "escalated", "Escalated, awaiting review"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    REVIEWED = "reviewed", "Reviewed"
    RESOLVED = "resolved", "Resolved: observations recorded"
    SUPERSEDED = "superseded", "Superseded by a later alert"
    WITHDRAWN = "withdrawn", "Withdrawn (observations entered in error)"


# Statuses that keep an alert on the Alerts page; at most one such alert per patient and kind.
ACTIVE_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.ESCALATED)


class AlertOutcome(models.TextChoices):
    """What came of escalating a NEWS2 alert (RCP Chart 4 responses)."""

    REVIEW_REQUESTED = "review_requested", "Review requested (awaiting the clinician)"
    REVIEWED = "reviewed", "Reviewed by the clinician"
    HIGHER_CARE = "higher_care", "Transferred to a higher level of care"
    TEP_LIMITS = "tep_limits", "Treatment escalation plan limits care"


class ClinicalAlert(models.Model):
    """One alert for a patient's condition (a NEWS2 escalation, overdue observations). New triggers
    update it (`AlertTrigger` keeps each one); a rise in risk asks for a new response."""

    key = models.CharField(max_length=100, unique=True, help_text="The key of the trigger that raised it.")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_alerts")
    kind = models.CharField(
        max_length=20, help_text="A registered alert kind (records/registries/alerts.py)."
    )
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    risk = models.CharField(max_length=15, blank=True, help_text="NEWS2 risk band of the latest trigger.")
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Latest NEWS2 total.")
    message = models.TextField()
    recipients = models.ManyToManyField(Group, related_name="+")
    observation_set = models.ForeignKey(
        "records.ObservationSet", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    due_at = models.DateTimeField(null=True, blank=True, help_text="When the overdue observations were due.")
    raised_at = models.DateTimeField()
    updated_at = models.DateTimeField(null=True, blank=True)
    needs_response_since = models.DateTimeField(
        null=True, blank=True, help_text="When the current response became due (raised or re-escalated)."
    )
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    response_note = models.TextField(blank=True)
    informed = models.CharField(max_length=200, blank=True, help_text="The clinician or team informed.")
    informed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=AlertOutcome.choices, blank=True)
    reviewed_by_name = models.CharField(max_length=200, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["status", "-raised_at"], name="alert_status_raised")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(status__in=["open", "escalated"]),
                name="one_active_alert_per_patient_and_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.message}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_ALERT_STATUSES


class AlertTrigger(models.Model):
    """Each event that raised or updated an alert (a NEWS2 set, a missed due time), once by its key."""

    key = models.CharField(max_length=100, unique=True)
    alert = models.ForeignKey(ClinicalAlert, on_delete=models.PROTECT, related_name="triggers")
    at = models.DateTimeField()
    observation_set = models.ForeignKey(
        "records.ObservationSet", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    risk = models.CharField(max_length=15, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.key} at {self.at:%H:%M}"


class AlertEventAction(models.TextChoices):
    SHOWN = "shown", "Shown"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    REVIEWED = "reviewed", "Review recorded"
    RESCORED = "rescored", "Updated with a new score"
    RE_ESCALATED = "re_escalated", "Risk rose: new response needed"
    RESOLVED = "resolved", "Resolved"
    SUPERSEDED = "superseded", "Superseded"
    OVERRIDDEN = "overridden", "Overridden"


class AlertEvent(models.Model):
    """Who saw or answered a decision-support alert, when, and why (kept for clinical safety review).
    `user` is empty for what the system did (a new score, observations recorded)."""

    alert = models.ForeignKey(ClinicalAlert, on_delete=models.PROTECT, related_name="events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=15, choices=AlertEventAction.choices)
    at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["alert", "at"], name="alertevent_alert_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.user or 'the system'} at {self.at:%H:%M}"
