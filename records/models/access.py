"""Why staff may open a record: care relationships (a ward or team group, until when) and emergency
break-glass access with its stated reason and review."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q

from records.models.core import Patient
from records.models.encounters import Encounter

__all__ = [
    "BreakGlassAccess",
    "BreakGlassOutcome",
    "CareRelationship",
    "CareRelationshipKind",
]


class CareRelationshipKind(models.TextChoices):
    WARD = "ward", "On the ward"
    TEAM = "team", "Treating team"


class CareRelationship(models.Model):
    """Why a group of staff may open a patient's record, and until when (null = still going)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_relationships")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    # An open vocabulary: what apps register (records.registries.care_relationships).
    kind = models.CharField(max_length=10)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, null=True, related_name="+")
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    access_withdrawn = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "group"], name="carerel_patient_group"),
            models.Index(fields=["ends_at"], condition=Q(access_withdrawn=False), name="carerel_pending_end"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.group.name}"


class BreakGlassOutcome(models.TextChoices):
    APPROPRIATE = "appropriate", "Appropriate"
    INAPPROPRIATE = "inappropriate", "Inappropriate: refer to the Caldicott guardian"


class BreakGlassAccess(models.Model):
    """Emergency access without a care relationship: reason stated, time-limited, reviewed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glass_uses")
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_outcome = models.CharField(max_length=20, choices=BreakGlassOutcome.choices, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "patient", "expires_at"], name="breakglass_active")]

    def __str__(self) -> str:
        return f"{self.user} on {self.started_at:%d-%b-%Y %H:%M}"
