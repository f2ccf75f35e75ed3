"""Resuscitation and treatment escalation decisions: a structured entry with history, so the banner and the
ward can show them, never only inside a note. The newest final entry is the current decision."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from records.models.core import Patient
from records.models.encounters import Encounter
from records.models.entries import ClinicalEntry

__all__ = ["CPRDecision", "EscalationLevel", "TreatmentEscalationPlan"]


class CPRDecision(models.TextChoices):
    ATTEMPT = "attempt", "For attempted CPR"
    DNACPR = "dnacpr", "Do not attempt CPR (DNACPR)"


class EscalationLevel(models.TextChoices):
    FULL = "full", "Full escalation, including intensive care"
    WARD = "ward", "Ward-based care: not for intensive care"
    COMFORT = "comfort", "Comfort care: symptom control only"


class TreatmentEscalationPlan(ClinicalEntry):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="escalation_plans")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cpr_decision = models.CharField("CPR decision", max_length=10, choices=CPRDecision.choices)
    escalation_level = models.CharField(
        "Treatment escalation", max_length=10, choices=EscalationLevel.choices
    )
    decided_by = models.CharField(
        "Senior clinician responsible", max_length=200, help_text="Name and grade, e.g. Dr A Khan, consultant"
    )
    discussed_with = models.CharField(
        "Discussed with",
        max_length=300,
        help_text="The patient, or who was consulted and why not the patient",
    )
    note = models.TextField(blank=True)
    review_date = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["patient", "status", "-recorded_at"], name="tep_patient_current")]

    def __str__(self) -> str:
        return f"{self.get_cpr_decision_display()}; {self.get_escalation_level_display()}"

    @property
    def escalation_short(self) -> str:
        return {
            EscalationLevel.FULL: "full escalation",
            EscalationLevel.WARD: "ward-based care, not for ICU",
            EscalationLevel.COMFORT: "comfort care",
        }[EscalationLevel(self.escalation_level)]

    @property
    def banner_text(self) -> str:
        cpr = "DNACPR" if self.cpr_decision == CPRDecision.DNACPR else "For CPR"
        return f"{cpr}; {self.escalation_short}"
