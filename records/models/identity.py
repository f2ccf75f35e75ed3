"""Patient identity operations kept for good: merges of a duplicate into a survivor (reversible) and
links between records of the same person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from records.models.core import Patient

__all__ = [
    "PatientLink",
    "PatientMerge",
]


class PatientMerge(models.Model):
    """A duplicate merged into a survivor, with every moved row listed so it can be undone exactly."""

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    duplicate = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    moved_rows = models.JSONField(default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField()
    unmerged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerge_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-merged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["duplicate"],
                condition=Q(unmerged_at__isnull=True),
                name="merge_one_open_per_duplicate",
            ),
        ]

    def __str__(self) -> str:
        return f"Merge {self.duplicate_id} into {self.survivor_id}"


class PatientLink(models.Model):
    """Two records of the same person kept apart (e.g. a mental-health record kept separate)."""

    first = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    second = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="link_unique_pair"),
            models.CheckConstraint(condition=Q(first__lt=models.F("second")), name="link_ordered_pair"),
        ]

    def __str__(self) -> str:
        return f"Link {self.first_id} - {self.second_id}"
