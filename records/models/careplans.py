"""Care plans: one per problem or need, with goals, interventions, who is responsible and when to review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from records.models.allergies import Problem
from records.models.core import Patient
from records.models.entries import ENTERED_IN_ERROR
from records.models.locations import Team

__all__ = ["CarePlan", "CarePlanReview", "CarePlanStatus"]


class CarePlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    ENTERED_IN_ERROR = ENTERED_IN_ERROR, "Entered in error"


class CarePlan(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_plans")
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    need = models.CharField(max_length=200, help_text="The problem or need, in words the patient uses")
    goals = models.TextField(help_text="What we are aiming for, one per line")
    interventions = models.TextField(help_text="What will be done and by whom, one per line")
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    review_date = models.DateField()
    status = models.CharField(max_length=20, choices=CarePlanStatus.choices, default=CarePlanStatus.ACTIVE)
    status_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["status", "review_date"]
        indexes = [models.Index(fields=["status", "review_date"], name="careplan_status_review")]
        permissions = [("review_careplan", "Can review care plans")]

    def __str__(self) -> str:
        return self.need

    @property
    def goal_list(self) -> list[str]:
        return [g.strip() for g in self.goals.splitlines() if g.strip()]

    @property
    def intervention_list(self) -> list[str]:
        return [i.strip() for i in self.interventions.splitlines() if i.strip()]


class CarePlanReview(models.Model):
    plan = models.ForeignKey(CarePlan, on_delete=models.PROTECT, related_name="reviews")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()
    outcome = models.TextField()
    next_review_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-reviewed_at"]

    def __str__(self) -> str:
        return f"Review {self.reviewed_at:%d-%b-%Y}"
