"""Orders (a FHIR ServiceRequest; ORC/OBR in HL7 v2): one test for one patient, from placing to its
final result or cancellation, with the warnings the requester overrode and why, the specimen taken
for it, and every message sent to the department system about it, with the answer that came back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from orders.models.catalogue import OrderableTest, OrderSet
from records.models import Encounter, Patient

__all__ = [
    "OUTSTANDING",
    "Order",
    "OrderStatus",
    "OrderWarning",
    "OutboundMessage",
    "Priority",
    "SendState",
    "Specimen",
]


class Priority(models.TextChoices):
    # FHIR ServiceRequest.priority codes; HL7 v2 priority R, A (urgent), S (stat).
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    IMMEDIATE = "stat", "Immediate"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    SENT = "sent", "Sent to the department"
    RECEIVED = "received", "Received by the department"
    COLLECTED = "collected", "Specimen collected"
    IN_PROGRESS = "in-progress", "In progress"
    PARTIAL = "partial", "Partial result"
    FINAL = "final", "Final result"
    CORRECTED = "corrected", "Corrected result"
    CANCELLED = "cancelled", "Cancelled"


# Still waiting for a final result: what a ward's outstanding list and the duplicate check count.
OUTSTANDING = (
    OrderStatus.PLACED,
    OrderStatus.SENT,
    OrderStatus.RECEIVED,
    OrderStatus.COLLECTED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.PARTIAL,
)


class SendState(models.TextChoices):
    QUEUED = "queued", "Waiting to send"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not sent yet: retrying"
    REJECTED = "rejected", "Refused by the department system"


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True)  # the placer order number (ORC-2, OBR-2)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    test = models.ForeignKey(OrderableTest, on_delete=models.PROTECT, related_name="orders")
    order_set = models.ForeignKey(OrderSet, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.ROUTINE)
    requested_for = models.DateTimeField(help_text="When the test is wanted")
    clinical_details = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True)  # question key -> answer text
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    filler_number = models.CharField(max_length=50, blank=True)  # the department's number, once known
    send_state = models.CharField(max_length=10, choices=SendState.choices, default=SendState.QUEUED)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        permissions = [("collect_specimen", "Can record a specimen collected")]
        indexes = [
            models.Index(fields=["patient", "test", "requested_at"], name="order_patient_test"),
            models.Index(
                fields=["patient", "status"],
                condition=Q(status__in=[s.value for s in OUTSTANDING]),
                name="order_outstanding",
            ),
            models.Index(fields=["requested_by", "requested_at"], name="order_requester"),
            models.Index(fields=["send_state"], condition=~Q(send_state="sent"), name="order_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.test.name}"

    @property
    def is_outstanding(self) -> bool:
        return self.status in OUTSTANDING


class OrderWarning(models.Model):
    """A warning shown when the order was placed and overridden with a reason (kept with the order)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="warnings")
    kind = models.CharField(max_length=20)  # duplicate, outstanding, contrast-allergy, mri-device...
    message = models.TextField()
    reason = models.TextField()

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


class Specimen(models.Model):
    """The specimen a laboratory order needs: labelled with the order number, then collected."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="specimen")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=100)
    type_snomed = models.CharField(max_length=20, blank=True)
    container = models.CharField(max_length=100, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    collected_at = models.DateTimeField(null=True, blank=True)
    labels_printed = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.type} for {self.order.number}"


class OutboundMessage(models.Model):
    """One HL7 v2 message to a department system (a new order or its cancellation), kept until the
    department has taken it: queued, sent with the ACK it answered, or failed and retried."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="messages")
    event = models.CharField(max_length=2)  # ORC-1: NW new, CA cancel
    control_id = models.CharField(max_length=30, unique=True)  # MSH-10
    message_type = models.CharField(max_length=20)  # OML^O21, ORM^O01
    raw = models.TextField()
    state = models.CharField(max_length=10, choices=SendState.choices, default=SendState.QUEUED)
    created_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    transport = models.CharField(max_length=10, blank=True)  # folder, mllp
    sent_at = models.DateTimeField(null=True, blank=True)
    ack_code = models.CharField(max_length=2, blank=True)
    ack_raw = models.TextField(blank=True)

    class Meta:
        ordering = ["order", "created_at", "pk"]
        indexes = [models.Index(fields=["state"], condition=~Q(state="sent"), name="outbound_unsent")]

    def __str__(self) -> str:
        return f"{self.message_type} {self.control_id} ({self.state})"
