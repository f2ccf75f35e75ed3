"""Clinical documents this app writes (a discharge summary, an outpatient clinic letter), prefilled
under the PRSB headings from the document-section registry, edited, signed, and sent to the GP (and
the patient) through an outbox, each sending tracked."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from records.models import Encounter, Patient

__all__ = ["ClinicalDocument", "DeliveryState", "DocumentDelivery", "DocumentKind", "DocumentStatus"]


class DocumentKind(models.TextChoices):
    DISCHARGE_SUMMARY = "discharge-summary", "Discharge summary"
    CLINIC_LETTER = "clinic-letter", "Clinic letter"


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"
    ENTERED_IN_ERROR = "entered-in-error", "Entered in error"


class ClinicalDocument(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    sections = models.JSONField(default=dict)  # section key -> text, as the author left it
    status = models.CharField(max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    error_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One discharge summary per admission (amend it rather than write a second).
            models.UniqueConstraint(
                fields=["encounter"],
                condition=Q(kind="discharge-summary") & ~Q(status="entered-in-error"),
                name="one_discharge_summary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.patient}"


class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Waiting to send"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not sent yet: retrying"
    ACKNOWLEDGED = "acknowledged", "Received by the practice"


class DocumentDelivery(models.Model):
    document = models.ForeignKey(ClinicalDocument, on_delete=models.PROTECT, related_name="deliveries")
    recipient = models.CharField(max_length=20)  # gp, patient
    address = models.CharField(max_length=200)  # the practice's ODS code, or the patient's postal address
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["document", "pk"]
        indexes = [models.Index(fields=["state"], condition=~Q(state="sent"), name="delivery_unsent")]

    def __str__(self) -> str:
        return f"{self.document} to {self.recipient} ({self.state})"
