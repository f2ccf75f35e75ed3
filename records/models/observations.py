"""Vital-signs observation sets with their NEWS2 score, and the SpO2 scale chosen for a patient."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from records.models.core import Patient
from records.models.encounters import Encounter
from records.models.entries import Retractable
from records.rules import news2

__all__ = ["ObservationSet", "OxygenDevice", "SpO2ScaleSetting"]


class OxygenDevice(models.TextChoices):
    NASAL_CANNULA = "nasal", "Nasal cannula"
    SIMPLE_MASK = "mask", "Simple face mask"
    VENTURI = "venturi", "Venturi mask"
    NON_REBREATHE = "nrb", "Non-rebreathe mask"
    HIGH_FLOW = "hfno", "High-flow nasal oxygen"
    CPAP_NIV = "niv", "CPAP / NIV"
    OTHER = "other", "Other"


class SpO2ScaleSetting(models.Model):
    """A doctor's decision to score SpO2 on Scale 2 (hypercapnic respiratory failure), with the reason."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="spo2_scale_settings")
    scale = models.PositiveSmallIntegerField(choices=[(1, "Scale 1"), (2, "Scale 2")])
    reason = models.TextField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-set_at", "-pk"]
        permissions = [("set_spo2_scale", "Can choose a patient's SpO2 scale for NEWS2")]

    def __str__(self) -> str:
        return f"Scale {self.scale}"


class ObservationSet(Retractable):
    """One set of vital signs taken together. Never edited: a mistake is marked entered-in-error."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="observation_sets")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    taken_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    source = models.CharField(max_length=10, default="form")
    submission_key = models.CharField(
        max_length=64, blank=True, help_text="The form's one-time token: a second post of it saves nothing."
    )

    respiration_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)
    on_oxygen = models.BooleanField(null=True, blank=True)
    oxygen_device = models.CharField(max_length=10, choices=OxygenDevice.choices, blank=True)
    oxygen_flow = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    pulse = models.PositiveSmallIntegerField(null=True, blank=True)
    consciousness = models.CharField(max_length=1, blank=True)
    temperature = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    weight = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    height = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    pain_score = models.PositiveSmallIntegerField(null=True, blank=True)

    spo2_scale = models.PositiveSmallIntegerField(default=1)
    news2_total = models.PositiveSmallIntegerField(null=True, blank=True)
    news2_scores = models.JSONField(default=dict, blank=True)
    news2_risk = models.CharField(max_length=12, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-taken_at"], name="obsset_patient_taken")]
        constraints = [
            models.CheckConstraint(condition=Q(spo2__lte=100), name="obsset_spo2_at_most_100"),
            models.CheckConstraint(condition=Q(pain_score__lte=10), name="obsset_pain_0_to_10"),
            models.UniqueConstraint(
                fields=["submission_key"], condition=~Q(submission_key=""), name="obsset_submitted_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Observations {self.taken_at:%d-%b-%Y %H:%M}"

    @property
    def news2_result(self) -> news2.News2Result | None:
        """The NEWS2 the set was scored with when recorded, or None if it was not scored."""
        if self.news2_total is None:
            return None
        return news2.News2Result(total=self.news2_total, scores=self.news2_scores, scale=self.spo2_scale)

    @property
    def is_complete_for_news2(self) -> bool:
        return None not in (
            self.respiration_rate,
            self.spo2,
            self.on_oxygen,
            self.systolic_bp,
            self.pulse,
            self.temperature,
        ) and bool(self.consciousness)

    @property
    def red_score(self) -> bool:
        return 3 in self.news2_scores.values()
