"""An antimicrobial's review (Start Smart then Focus): who decided what, when, and the next review."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from prescribing.models.prescriptions import Prescription
from prescribing.rules.antimicrobials import Decision

__all__ = ["AntimicrobialReview"]


class AntimicrobialReview(models.Model):
    prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, related_name="antimicrobial_reviews"
    )
    decision = models.CharField(max_length=12, choices=list(Decision.LABELS.items()))
    next_review_on = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()

    class Meta:
        ordering = ["reviewed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.reviewed_at:%Y-%m-%d}"
