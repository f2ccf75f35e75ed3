"""Results as the laboratory and radiology systems send them: a report (an HL7 v2 OBR group, or a FHIR
DiagnosticReport) with its observations (OBX), filed to the patient it matched, to the order it
answers when it names one, or held in the unmatched queue when the patient could not be matched. The
message each came in is kept; a message received twice (same sender, same control id) files once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from orders.models.requests import Order
from records.models import Patient

__all__ = ["AckAction", "Filing", "InboundMessage", "ResultObservation", "ResultReport"]


class InboundMessage(models.Model):
    """One message received (HTTP, MLLP or a file), with the ACK it was answered with."""

    sender = models.CharField(max_length=200)  # MSH-3 and MSH-4, as sent: "ACMELab^..|CAV^7A4BV^L"
    control_id = models.CharField(max_length=50)  # MSH-10
    message_type = models.CharField(max_length=20)  # "ORU^R01"
    received_at = models.DateTimeField()
    channel = models.CharField(max_length=10)  # http, mllp, file
    client = models.CharField(max_length=200, blank=True)  # the OAuth application that sent it
    raw = models.TextField()
    ack_code = models.CharField(max_length=2)  # AA, AE, AR
    ack_text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "control_id"], name="inbound_message_once"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.control_id} from {self.sender}"


class Filing(models.TextChoices):
    FILED = "filed", "Filed to the order"
    UNSOLICITED = "unsolicited", "Filed without an order"
    UNMATCHED = "unmatched", "Waiting: patient not matched"
    REJECTED = "rejected", "Rejected from the unmatched queue"


class AckAction(models.TextChoices):
    NO_ACTION = "no-action", "No action needed"
    REPEAT = "repeat", "Repeat the test"
    TREATMENT = "treatment", "Treatment changed"
    INFORMED = "informed", "Patient informed"
    REFERRED = "referred", "Referred"


class ResultReport(models.Model):
    message = models.ForeignKey(InboundMessage, on_delete=models.PROTECT, related_name="reports")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    filing = models.CharField(max_length=12, choices=Filing.choices)
    # The patient as the message named them: kept so the unmatched queue can show it, and for audit.
    sent_nhs_number = models.CharField(max_length=20, blank=True)
    sent_hospital_number = models.CharField(max_length=30, blank=True)
    sent_family_name = models.CharField(max_length=100, blank=True)
    sent_given_name = models.CharField(max_length=100, blank=True)
    sent_date_of_birth = models.DateField(null=True, blank=True)
    mismatch = models.TextField(blank=True)  # why the patient did not match, for the queue

    # The order it answers, found by its placer (or filler) number for this patient.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    placer_number = models.CharField(max_length=50, blank=True)  # OBR-2 / ORC-2
    filler_number = models.CharField(max_length=50, blank=True)  # OBR-3
    code = models.CharField(max_length=50)  # OBR-4.1
    code_system = models.CharField(max_length=30, blank=True)
    name = models.CharField(max_length=200)  # OBR-4.2
    status = models.CharField(max_length=2)  # OBR-25: F final, C corrected, P preliminary, X cancelled
    observed_at = models.DateTimeField(null=True, blank=True)  # OBR-7
    issued_at = models.DateTimeField(null=True, blank=True)  # OBR-22
    notes = models.TextField(blank=True)  # NTE after the OBR
    filed_at = models.DateTimeField()
    abnormal = models.BooleanField(default=False)  # a value flagged outside its range
    critical = models.BooleanField(default=False)  # a value beyond the trust's critical limits

    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_action = models.CharField(max_length=12, choices=AckAction.choices, blank=True)
    ack_note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-observed_at", "-pk"]
        permissions = [
            ("acknowledge_resultreport", "Can acknowledge results"),
            ("file_unmatched_resultreport", "Can file or reject unmatched results"),
        ]
        indexes = [
            models.Index(fields=["patient", "observed_at"], name="report_patient_observed"),
            models.Index(fields=["filing"], condition=Q(filing="unmatched"), name="report_unmatched"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_filing_display()})"


class ResultObservation(models.Model):
    """One OBX: a value (number, text or coded), its units, reference range and flag."""

    report = models.ForeignKey(ResultReport, on_delete=models.PROTECT, related_name="observations")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    set_id = models.CharField(max_length=10, blank=True)
    value_type = models.CharField(max_length=3)  # NM, ST, TX, FT, CE, CWE, SN...
    code = models.CharField(max_length=50)
    code_system = models.CharField(max_length=30, blank=True)  # LN for LOINC, or the lab's own
    name = models.CharField(max_length=200)
    value_text = models.TextField(blank=True)  # as sent, unescaped (every value has this)
    value_number = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    comparator = models.CharField(max_length=2, blank=True)  # a structured numeric's "<" or ">"
    unit = models.CharField(max_length=60, blank=True)
    reference_range = models.CharField(max_length=60, blank=True)
    flag = models.CharField(max_length=10, blank=True)  # OBX-8: H, L, HH, LL, A, N...
    status = models.CharField(max_length=2)  # OBX-11: F, C (corrected), P, X...
    observed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)  # NTE after the OBX
    # A corrected result (OBX-11 C) of the same test in the same report (filler number) replaces
    # this one: both are kept, the chart shows the correction and what it replaced.
    superseded_by = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["report", "pk"]
        indexes = [models.Index(fields=["patient", "code", "observed_at"], name="observation_patient_code")]

    def __str__(self) -> str:
        return f"{self.name} {self.value_text} {self.unit}".strip()
