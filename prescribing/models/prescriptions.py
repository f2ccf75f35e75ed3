"""Prescriptions: what a prescriber ordered for a patient, at VMP (generic) level or AMP (brand), as a
regular, as-required or once-only dose. Never edited in place beyond its review: a change of dose,
route or times is made by stopping the prescription and writing a new one that replaces it, so the
chart shows both. A mistake is marked entered-in-error with the reason. Every check shown at
prescribing is kept with what the prescriber did about it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from prescribing.models.catalogue import AMP, VMP
from records.models import ENTERED_IN_ERROR, Encounter, Patient

__all__ = [
    "CheckOutcome",
    "PharmacyAction",
    "PharmacyReview",
    "Prescription",
    "PrescriptionCheck",
    "PrescriptionKind",
    "PrescriptionStatus",
    "Setting",
    "Verification",
]


class PrescriptionKind(models.TextChoices):
    REGULAR = "regular", "Regular"
    AS_REQUIRED = "as-required", "As required (PRN)"
    ONCE = "once", "Once only"


class Setting(models.TextChoices):
    INPATIENT = "inpatient", "Inpatient"
    DISCHARGE = "discharge", "To take out (discharge)"
    OUTPATIENT = "outpatient", "Outpatient"


class PrescriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"
    ENTERED_IN_ERROR = ENTERED_IN_ERROR, "Entered in error"


class Verification(models.TextChoices):
    """Where the pharmacist's clinical check of a prescription stands."""

    AWAITING = "awaiting", "Awaiting pharmacist verification"
    VERIFIED = "verified", "Verified by pharmacist"
    QUERIED = "queried", "Queried by pharmacist"
    REJECTED = "rejected", "Rejected by pharmacist"


class Prescription(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vmp = models.ForeignKey(VMP, on_delete=models.PROTECT, related_name="+")
    amp = models.ForeignKey(AMP, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=12, choices=PrescriptionKind.choices)
    setting = models.CharField(max_length=12, choices=Setting.choices, default=Setting.INPATIENT)

    dose_value = models.DecimalField(max_digits=12, decimal_places=4)
    dose_unit = models.CharField(max_length=30)  # as the chart shows it: "mg", "tablet", "ml"
    # A weight-based dose: per kg, and the weight (and when it was taken) the dose was calculated from.
    dose_per_kg = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    dosing_weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    dosing_weight_at = models.DateTimeField(null=True, blank=True)
    route = models.CharField(max_length=60)  # dm+d route, in words: "Oral", "Intravenous"
    times_of_day = models.JSONField(default=list, blank=True)  # regular: ["08:00", "20:00"]
    min_interval_minutes = models.PositiveIntegerField(null=True, blank=True)  # as required
    max_doses_in_24_hours = models.PositiveSmallIntegerField(null=True, blank=True)  # as required
    indication = models.CharField(max_length=200, blank=True)
    notes_for_administration = models.TextField(blank=True)
    # An infusion: the drug in a diluent, its volume, and its rate or duration (one gives the other).
    diluent = models.CharField(max_length=120, blank=True)  # "Sodium chloride 0.9%"
    infusion_volume_ml = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)
    infusion_rate_ml_per_hour = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    infusion_minutes = models.PositiveIntegerField(null=True, blank=True)
    # A stepped (reducing or increasing) course: [{"from": "2026-12-01", "dose": "40"}, ...], each step
    # the dose from that day on; dose_value is the first step's.
    dose_steps = models.JSONField(default=list, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)  # a planned end (a course of five days)
    review_on = models.DateField(null=True, blank=True)  # antimicrobials: the review or stop date

    prescribed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prescribed_at = models.DateTimeField()
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    status = models.CharField(
        max_length=20, choices=PrescriptionStatus.choices, default=PrescriptionStatus.ACTIVE
    )
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.TextField(blank=True)
    error_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    verification = models.CharField(
        max_length=10, choices=Verification.choices, default=Verification.AWAITING
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-prescribed_at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "status"], name="prescription_patient_status"),
            models.Index(
                fields=["prescribed_at"],
                condition=Q(status="active", verification__in=["awaiting", "queried"]),
                name="prescription_to_verify",
            ),
        ]
        permissions = [
            ("stop_prescription", "Can stop prescriptions"),
            ("verify_prescription", "Can verify prescriptions (pharmacist's clinical check)"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(dose_value__gt=0), name="prescription_dose_positive"),
            models.CheckConstraint(
                condition=~Q(status="stopped") | Q(stopped_at__isnull=False, stopped_by__isnull=False),
                name="prescription_stopped_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=~Q(kind="regular") | ~Q(times_of_day=[]), name="prescription_regular_has_times"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vmp} {self.dose_value.normalize():f} {self.dose_unit} {self.route}"

    @property
    def dose_text(self) -> str:
        return f"{self.dose_value.normalize():f} {self.dose_unit}"

    @property
    def infusion_text(self) -> str:
        """ "in 100 ml Sodium chloride 0.9% over 30 minutes (200 ml/hour)", or "" for no infusion."""
        if self.infusion_volume_ml is None:
            return ""
        parts = [f"in {self.infusion_volume_ml.normalize():f} ml {self.diluent}".strip()]
        if self.infusion_minutes:
            parts.append(f"over {_duration_words(self.infusion_minutes)}")
        if self.infusion_rate_ml_per_hour is not None:
            parts.append(f"({self.infusion_rate_ml_per_hour.normalize():f} ml/hour)")
        return " ".join(parts)

    def dose_on(self, day: date) -> Decimal:
        """The dose due on a day: the step in force that day for a stepped course, else the dose."""
        current = self.dose_value
        for step in self.dose_steps:
            if date.fromisoformat(step["from"]) <= day:
                current = Decimal(step["dose"])
        return current

    @property
    def interval_text(self) -> str:
        """The minimum interval as a ward says it: "4 hours", "90 minutes"."""
        minutes = self.min_interval_minutes or 0
        if minutes and minutes % 60 == 0:
            return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
        return f"{minutes} minutes" if minutes else ""

    @property
    def may_be_given(self) -> bool:
        return self.status == PrescriptionStatus.ACTIVE and self.verification != Verification.REJECTED


def _duration_words(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and not rest:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if hours:
        return f"{hours} h {rest} min"
    return f"{minutes} minutes"


class CheckOutcome(models.TextChoices):
    OVERRIDDEN = "overridden", "Overridden with a reason"
    ACCEPTED = "accepted", "Prescribed as checked"


class PrescriptionCheck(models.Model):
    """One finding shown when the prescription was written (an allergy, a duplicate, a dose above
    its maximum), and what the prescriber did: who, when and why."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="checks")
    kind = models.CharField(max_length=30)
    severity = models.CharField(max_length=10)
    message = models.TextField()
    outcome = models.CharField(max_length=12, choices=CheckOutcome.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind}: {self.get_outcome_display()}"


class PharmacyAction(models.TextChoices):
    VERIFIED = "verified", "Verified"
    ANNOTATED = "annotated", "Annotation"
    QUERIED = "queried", "Query to the prescriber"
    ANSWERED = "answered", "Prescriber's answer"
    REJECTED = "rejected", "Rejected"


class PharmacyReview(models.Model):
    """One step of the pharmacist's review of a prescription: verified, an annotation for the ward,
    a query to the prescriber (and the prescriber's answer), or a rejection with its reason."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="reviews")
    action = models.CharField(max_length=10, choices=PharmacyAction.choices)
    text = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"
