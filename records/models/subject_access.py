"""Subject access requests: a patient's (or their representative's) request for a copy of their
record, the redactions chosen for it, and the PDF and JSON exports produced for it.

The export files live under MEDIA_ROOT, which is never served: they are downloaded only through a
view that checks permission and writes an audit row.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from records.models.core import Patient
from records.rules import subject_access as sar_rules

__all__ = ["RequesterKind", "SubjectAccessRequest", "SubjectAccessStatus", "subject_access_upload_to"]


class SubjectAccessStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    IN_PROGRESS = "in_progress", "In progress"
    GENERATING = "generating", "Generating the export"
    READY = "ready", "Export ready"
    FAILED = "failed", "Export failed"
    CLOSED = "closed", "Sent and closed"


class RequesterKind(models.TextChoices):
    PATIENT = "patient", "The patient"
    REPRESENTATIVE = "representative", "Someone acting for the patient"


# A generation that has reported no progress for this long died with its worker: it may be re-run.
GENERATION_STALLED_AFTER = timedelta(minutes=15)


def subject_access_upload_to(instance: SubjectAccessRequest, filename: str) -> str:
    return f"subject-access/{instance.pk}/{filename}"


class SubjectAccessRequest(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="subject_access_requests")
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The member of staff who logged the request.",
    )
    logged_at = models.DateTimeField(default=timezone.now)
    received_on = models.DateField(help_text="The day the request reached the trust.")
    deadline = models.DateField(help_text="One calendar month from receipt (UK GDPR Article 12(3)).")
    requester_kind = models.CharField(max_length=20, choices=RequesterKind.choices)
    requester_description = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=SubjectAccessStatus.choices, default=SubjectAccessStatus.RECEIVED
    )
    # [{"section": key, "entry_id": id, "reason": text}], chosen before generation.
    redactions = models.JSONField(default=list, blank=True)

    progress = models.PositiveSmallIntegerField(default=0)
    progress_step = models.CharField(max_length=120, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    generation_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    pdf_file = models.FileField(upload_to=subject_access_upload_to, blank=True)
    json_file = models.FileField(upload_to=subject_access_upload_to, blank=True)
    error_message = models.TextField(blank=True)

    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    version = models.PositiveIntegerField(default=1)

    # Progress is written many times per export with a plain UPDATE; it is not history.
    history = HistoricalRecords(excluded_fields=["progress", "progress_step", "progress_at"])

    class Meta:
        ordering = ["deadline", "pk"]
        indexes = [
            models.Index(fields=["deadline"], condition=~Q(status="closed"), name="sar_open_by_deadline"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gt=F("received_on")), name="sar_deadline_after_receipt"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="sar_progress_at_most_100"),
        ]
        permissions = [
            (
                "manage_subject_access",
                "Can log subject access requests, choose redactions and export records",
            ),
        ]

    def __str__(self) -> str:
        return f"Subject access request {self.pk} received {self.received_on:%d-%b-%Y}"

    @property
    def is_open(self) -> bool:
        return self.status != SubjectAccessStatus.CLOSED

    @property
    def days_left(self) -> int:
        return sar_rules.days_left(self.deadline, timezone.localdate())

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left

    @property
    def has_export(self) -> bool:
        return self.status in (SubjectAccessStatus.READY, SubjectAccessStatus.CLOSED) and bool(self.pdf_file)

    @property
    def is_stalled(self) -> bool:
        return self.status == SubjectAccessStatus.GENERATING and (
            self.progress_at is None or self.progress_at < timezone.now() - GENERATION_STALLED_AFTER
        )

    @property
    def requester_display(self) -> str:
        if self.requester_kind == RequesterKind.PATIENT:
            return "The patient"
        return f"Representative: {self.requester_description}"
