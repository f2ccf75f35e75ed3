"""Clinical decision-support alerts: raised once, delivered to a ward and a team, acknowledged."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from records.models.core import Patient

__all__ = ["AlertEvent", "AlertEventAction", "AlertKind", "AlertSeverity", "AlertStatus", "ClinicalAlert"]


class AlertKind(models.TextChoices):
    NEWS2 = "news2", "NEWS2 escalation"
    OBS_OVERDUE = "obs_overdue", "Observations overdue"


class AlertSeverity(models.TextChoices):
    ALERT = "alert", "Alert"
    URGENT = "urgent", "Urgent"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Awaiting acknowledgement"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    WITHDRAWN = "withdrawn", "Withdrawn (observations entered in error)"


class ClinicalAlert(models.Model):
    """`key` makes raising idempotent: the same trigger (e.g. one observation set) raises one alert."""

    key = models.CharField(max_length=100, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    message = models.TextField()
    recipients = models.ManyToManyField(Group, related_name="+")
    observation_set = models.ForeignKey(
        "records.ObservationSet", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    raised_at = models.DateTimeField()
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    response_note = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["status", "-raised_at"], name="alert_status_raised")]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.message}"


class AlertEventAction(models.TextChoices):
    SHOWN = "shown", "Shown"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ESCALATED = "escalated", "Escalated"
    OVERRIDDEN = "overridden", "Overridden"


class AlertEvent(models.Model):
    """Who saw or answered a decision-support alert, when, and why (kept for clinical safety review)."""

    alert = models.ForeignKey(ClinicalAlert, on_delete=models.PROTECT, related_name="events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=15, choices=AlertEventAction.choices)
    at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["alert", "at"], name="alertevent_alert_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.user} at {self.at:%H:%M}"
