"""Allergies and intolerances, and coded problems and diagnoses. Never deleted: amended with a
reason, or marked entered-in-error."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from records.models.core import Patient
from records.models.encounters import Encounter
from records.models.entries import ClinicalEntry

__all__ = [
    "AllergyCategory",
    "AllergyCriticality",
    "AllergyIntolerance",
    "AllergyKind",
    "AllergySeverity",
    "AllergyVerification",
    "ClinicalStatus",
    "Problem",
    "ProblemStatus",
    "ProblemVerification",
]


class AllergyKind(models.TextChoices):
    ALLERGY = "allergy", "Allergy"
    INTOLERANCE = "intolerance", "Intolerance"
    NO_KNOWN_ALLERGY = "nka", "No known allergies"


class AllergyCategory(models.TextChoices):
    MEDICATION = "medication", "Medicine"
    FOOD = "food", "Food"
    ENVIRONMENT = "environment", "Environment"
    BIOLOGIC = "biologic", "Biologic"


class AllergySeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class AllergyCriticality(models.TextChoices):
    LOW = "low", "Low risk"
    HIGH = "high", "High risk"
    UNABLE = "unable-to-assess", "Unable to assess"


class AllergyVerification(models.TextChoices):
    UNCONFIRMED = "unconfirmed", "Unconfirmed (reported)"
    CONFIRMED = "confirmed", "Confirmed"
    REFUTED = "refuted", "Refuted"


class ClinicalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    RESOLVED = "resolved", "Resolved"


class AllergyIntolerance(ClinicalEntry):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    kind = models.CharField(max_length=12, choices=AllergyKind.choices, default=AllergyKind.ALLERGY)
    substance_code = models.CharField(max_length=20, blank=True, help_text="SNOMED CT concept id")
    substance_display = models.CharField(max_length=255, blank=True)
    substance_text = models.CharField(max_length=255, blank=True, help_text="Free text when no code fits")
    category = models.CharField(max_length=12, choices=AllergyCategory.choices, blank=True)
    reaction = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=10, choices=AllergySeverity.choices, blank=True)
    criticality = models.CharField(max_length=20, choices=AllergyCriticality.choices, blank=True)
    verification = models.CharField(
        max_length=12, choices=AllergyVerification.choices, default=AllergyVerification.UNCONFIRMED
    )
    clinical_status = models.CharField(
        max_length=10, choices=ClinicalStatus.choices, default=ClinicalStatus.ACTIVE
    )
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["patient", "status"], name="allergy_patient_status")]

    def __str__(self) -> str:
        return self.substance

    @property
    def substance(self) -> str:
        if self.kind == AllergyKind.NO_KNOWN_ALLERGY:
            return "No known allergies"
        return self.substance_display or self.substance_text


class ProblemStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"
    INACTIVE = "inactive", "Inactive"


class ProblemVerification(models.TextChoices):
    PROVISIONAL = "provisional", "Provisional"
    CONFIRMED = "confirmed", "Confirmed"
    DIFFERENTIAL = "differential", "Differential"


class Problem(ClinicalEntry):
    """A problem or diagnosis coded in SNOMED CT, with ICD-10 where the map gives one."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="problems")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    snomed_code = models.CharField(max_length=20)
    snomed_display = models.CharField(max_length=255)
    icd10_code = models.CharField(max_length=10, blank=True)
    icd10_display = models.CharField(max_length=255, blank=True)
    clinical_status = models.CharField(
        max_length=10, choices=ProblemStatus.choices, default=ProblemStatus.ACTIVE
    )
    verification = models.CharField(
        max_length=12, choices=ProblemVerification.choices, default=ProblemVerification.CONFIRMED
    )
    onset_date = models.DateField(null=True, blank=True)
    resolved_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["clinical_status", "-onset_date", "-pk"]
        indexes = [models.Index(fields=["patient", "status"], name="problem_patient_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resolved_date__isnull=True)
                | models.Q(onset_date__isnull=True)
                | models.Q(resolved_date__gte=models.F("onset_date")),
                name="problem_resolved_after_onset",
            )
        ]

    def __str__(self) -> str:
        return self.snomed_display
