"""The bed board's own state of a bed (occupancy itself is records' WardStay: one current stay per
bed, a database constraint), and requests for a bed that a bed manager allocates."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from records.models import Bed, Patient, Specialty, Ward

__all__ = ["BedCondition", "BedRequest", "BedRequestSource", "BedRequestStatus", "BedState"]


class BedCondition(models.TextChoices):
    AVAILABLE = "available", "Available"
    CLEANING = "cleaning", "Awaiting cleaning"
    BLOCKED = "blocked", "Blocked"
    CLOSED = "closed", "Closed"


class BedState(models.Model):
    """A bed's condition when nobody is in it. A bed with no row is available."""

    bed = models.OneToOneField(Bed, on_delete=models.PROTECT, related_name="board_state")
    condition = models.CharField(max_length=10, choices=BedCondition.choices, default=BedCondition.AVAILABLE)
    reason = models.CharField(max_length=300, blank=True)  # why blocked or closed
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        permissions = [("manage_beds", "Can allocate beds and change their state")]

    def __str__(self) -> str:
        return f"{self.bed}: {self.get_condition_display()}"


class BedRequestSource(models.TextChoices):
    EMERGENCY = "ed", "Emergency department"
    THEATRES = "theatres", "Theatres and recovery"
    WARD = "ward", "Another ward"
    ELECTIVE = "elective", "Elective admission"
    ASSESSMENT = "assessment", "Assessment unit"


class BedRequestStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for a bed"
    ALLOCATED = "allocated", "Bed allocated"
    ARRIVED = "arrived", "Arrived in the bed"
    CANCELLED = "cancelled", "Cancelled"


class BedRequest(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=BedRequestSource.choices)
    from_ward = models.ForeignKey(Ward, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    wanted_ward = models.ForeignKey(Ward, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    needs = models.CharField(
        max_length=300, blank=True, help_text="Side room, cardiac monitoring, bariatric..."
    )
    urgent = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=BedRequestStatus.choices, default=BedRequestStatus.WAITING
    )
    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    allocated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-urgent", "requested_at", "pk"]
        constraints = [
            # A bed is promised to one request at a time, and a patient waits in one queue.
            models.UniqueConstraint(
                fields=["bed"], condition=Q(status="allocated"), name="bed_request_one_allocation"
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status__in=["waiting", "allocated"]),
                name="bed_request_one_open",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status"], condition=Q(status__in=["waiting", "allocated"]), name="bed_request_open"
            )
        ]

    def __str__(self) -> str:
        return f"Bed request for {self.patient} ({self.get_status_display()})"
