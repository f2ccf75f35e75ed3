"""Administrations: each dose given, or not given with the reason, against the prescription and (for
a regular or once-only dose) the due time it answers. A dose is recorded once: the database refuses a
second record of the same due time, and the service serialises on the prescription, so two nurses
scanning at once or a double click cannot give it twice. A mistake is struck through with a reason,
never deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from prescribing.models.prescriptions import Prescription
from records.models import ENTERED_IN_ERROR, Patient
from records.models.entries import Retractable

__all__ = ["Administration", "AdministrationOutcome"]


class AdministrationOutcome(models.TextChoices):
    GIVEN = "given", "Given"
    NOT_GIVEN = "not-given", "Not given"


class Administration(Retractable):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="administrations")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)  # the dose this answers; none for as-required
    outcome = models.CharField(max_length=10, choices=AdministrationOutcome.choices)
    at = models.DateTimeField()  # when it was given, or when it was found it could not be
    dose_value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    dose_unit = models.CharField(max_length=30, blank=True)
    route = models.CharField(max_length=60, blank=True)
    delayed = models.BooleanField(default=False)  # given after its window closed

    # What was scanned: the pack's GS1 fields, stored for recall and for the controlled-drug register.
    gtin = models.CharField(max_length=14, blank=True)
    batch = models.CharField(max_length=20, blank=True)
    expiry = models.DateField(null=True, blank=True)
    serial = models.CharField(max_length=20, blank=True)
    wristband_scanned = models.BooleanField(default=False)
    pack_scanned = models.BooleanField(default=False)
    typed_reason = models.TextField(blank=True)  # why a barcode was typed instead of scanned
    overrides = models.JSONField(default=list, blank=True)  # [{"code", "message", "reason"}]
    given_unverified = models.BooleanField(default=False)  # before the pharmacist verified: flagged

    not_given_reason = models.CharField(max_length=30, blank=True)
    not_given_text = models.TextField(blank=True)

    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submission_key = models.CharField(max_length=64, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["patient", "at"], name="administration_patient_at"),
            # As-required doses by prescription and time: the chart's and the round's day of them.
            models.Index(
                fields=["prescription", "at"], condition=Q(due_at__isnull=True), name="administration_prn_at"
            ),
        ]
        permissions = [("witness_administration", "Can witness controlled-drug administrations")]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription", "due_at"],
                condition=Q(due_at__isnull=False) & ~Q(status=ENTERED_IN_ERROR),
                name="administration_dose_once",
            ),
            models.UniqueConstraint(
                fields=["submission_key"],
                condition=~Q(submission_key=""),
                name="administration_submitted_once",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="not-given") | ~Q(not_given_reason=""),
                name="administration_not_given_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.at:%Y-%m-%d %H:%M}"
