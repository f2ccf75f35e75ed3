"""Admissions (encounters) and the ward stays within them, with the NHS Data Dictionary codes for how a
patient came in and where they went."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from records.models.core import Patient
from records.models.locations import Bed, Specialty, Team, Ward

__all__ = [
    "AdmissionMethod",
    "DischargeDestination",
    "Encounter",
    "EncounterStatus",
    "WardStay",
]


class AdmissionMethod(models.TextChoices):
    ELECTIVE = "11", "Elective - waiting list"
    PLANNED = "13", "Elective - planned"
    EMERGENCY_ED = "21", "Emergency - via emergency department"
    EMERGENCY_GP = "22", "Emergency - GP referral"
    EMERGENCY_OTHER = "28", "Emergency - other"
    TRANSFER = "81", "Transfer from another hospital"


class DischargeDestination(models.TextChoices):
    HOME = "19", "Usual place of residence"
    TEMPORARY = "29", "Temporary place of residence"
    CARE_HOME = "54", "Care home"
    OTHER_HOSPITAL = "51", "Another NHS hospital"
    HOSPICE = "87", "Hospice"
    DIED = "79", "Patient died"


class EncounterStatus(models.TextChoices):
    ACTIVE = "active", "In hospital"
    FINISHED = "finished", "Discharged"


class Encounter(models.Model):
    """An inpatient stay from admission to discharge; ward stays record where the patient was."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    status = models.CharField(max_length=10, choices=EncounterStatus.choices, default=EncounterStatus.ACTIVE)
    admitted_at = models.DateTimeField()
    discharged_at = models.DateTimeField(null=True, blank=True)
    admission_method = models.CharField(max_length=2, choices=AdmissionMethod.choices)
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="encounters")
    discharge_destination = models.CharField(max_length=2, choices=DischargeDestination.choices, blank=True)
    admitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    discharged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    expected_discharge_date = models.DateField(
        null=True, blank=True, help_text="The date the team expects the patient to leave hospital."
    )
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-admitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="encounter_one_active_per_patient"
            ),
        ]
        permissions = [("manage_admissions", "Can admit, transfer and discharge patients")]

    def __str__(self) -> str:
        return f"Admission {self.admitted_at:%d-%b-%Y}"


class WardStay(models.Model):
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="ward_stays")
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="stays")
    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, null=True, blank=True, related_name="stays")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True, help_text="Why the patient was moved here")

    history = HistoricalRecords()

    class Meta:
        ordering = ["started_at"]
        constraints = [
            # One patient to a bed, and one current place per stay: two clerks cannot double-book.
            models.UniqueConstraint(
                fields=["bed"], condition=Q(ended_at__isnull=True), name="wardstay_bed_free"
            ),
            models.UniqueConstraint(
                fields=["encounter"], condition=Q(ended_at__isnull=True), name="wardstay_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["ward"], condition=Q(ended_at__isnull=True), name="wardstay_current_ward")
        ]

    def __str__(self) -> str:
        return f"{self.ward} {self.bed or ''}".strip()
