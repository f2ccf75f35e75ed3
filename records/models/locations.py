"""Where care happens: sites, wards with their bays and beds, specialties and consultant-led teams.
Each ward and team has a staff group, which care relationships name."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

__all__ = [
    "Bay",
    "Bed",
    "Site",
    "Specialty",
    "Team",
    "Ward",
]


class Specialty(models.TextChoices):
    """NHS treatment function codes (a subset)."""

    GENERAL_SURGERY = "100", "General surgery"
    TRAUMA_ORTHOPAEDICS = "110", "Trauma and orthopaedics"
    ACCIDENT_EMERGENCY = "180", "Emergency medicine"
    GENERAL_MEDICINE = "300", "General internal medicine"
    GASTROENTEROLOGY = "301", "Gastroenterology"
    CARDIOLOGY = "320", "Cardiology"
    RESPIRATORY = "340", "Respiratory medicine"
    ELDERLY = "430", "Elderly medicine"
    STROKE = "328", "Stroke medicine"
    ADULT_MENTAL_ILLNESS = "710", "Adult mental illness"
    OBSTETRICS = "501", "Obstetrics"
    PAEDIATRICS = "420", "Paediatrics"


class Site(models.Model):
    code = models.CharField(max_length=10, unique=True, help_text="ODS site code")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ward(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="wards")
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    staff_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="ward")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site__name", "name"]

    def __str__(self) -> str:
        return self.name


class Bay(models.Model):
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="bays")
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["ward", "name"]
        constraints = [models.UniqueConstraint(fields=["ward", "name"], name="bay_unique_in_ward")]

    def __str__(self) -> str:
        return f"{self.ward} {self.name}"


class Bed(models.Model):
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="beds")
    bay = models.ForeignKey(Bay, on_delete=models.PROTECT, related_name="beds", null=True, blank=True)
    label = models.CharField(max_length=20)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["ward", "bay__name", "label"]
        constraints = [models.UniqueConstraint(fields=["ward", "label"], name="bed_unique_in_ward")]

    def __str__(self) -> str:
        return f"{self.bay.name} bed {self.label}" if self.bay is not None else f"Bed {self.label}"


class Team(models.Model):
    """A treating team (a consultant's firm); its members share access to the team's patients."""

    name = models.CharField(max_length=100)
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    staff_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
