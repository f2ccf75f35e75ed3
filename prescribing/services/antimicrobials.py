"""Antimicrobial review: the alert to the patient's team when an antimicrobial reaches its 48-72 hour
review (or the review date the last review set), and the review itself, which stops the
prescription (stop, switch IV to oral, change: the prescriber writes the next one) or keeps it with
the date of the next review. The decision shows on the drug chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from prescribing.models import AntimicrobialReview, Prescription, PrescriptionStatus, Setting
from prescribing.rules.antimicrobials import Decision, review_state
from prescribing.services.prescriptions import prescription_stop
from records.errors import RecordError
from records.models import ACTIVE_ALERT_STATUSES, AlertSeverity, AlertStatus, ClinicalAlert
from records.models.entries import history_note
from records.services.alerts import alert_acknowledge, alert_raise
from records.services.entries import lock_for_edit

ALERT_KIND = "abx_review"
# Where the antimicrobials are: the formulary's group, BNF chapter 5 (infections).
ANTIMICROBIAL = Q(vmp__formulary__group="antimicrobial") | Q(vmp__bnf_code__startswith="5.")


def _last(prescription: Prescription) -> AntimicrobialReview | None:
    reviews = list(prescription.antimicrobial_reviews.all())
    return reviews[-1] if reviews else None


def review_due(prescription: Prescription, now: datetime) -> Any:
    last = _last(prescription)
    return review_state(
        started_at=prescription.starts_at,
        last_review_at=last.reviewed_at if last else None,
        next_review_on=last.next_review_on if last else None,
        now=now,
    )


def raise_review_alerts(now: datetime | None = None) -> int:
    """One alert per patient whose antimicrobials are due their review, naming each; idempotent per
    prescription and day (the beat task runs it often). Returns the alerts raised."""
    now = now or timezone.now()
    due: dict[int, list[tuple[Prescription, str]]] = defaultdict(list)
    candidates = (
        Prescription.objects.filter(
            ANTIMICROBIAL, status=PrescriptionStatus.ACTIVE, setting=Setting.INPATIENT
        )
        .select_related("vmp", "encounter__team")
        .prefetch_related(
            Prefetch("antimicrobial_reviews", queryset=AntimicrobialReview.objects.order_by("reviewed_at"))
        )
    )
    for prescription in candidates:
        state = review_due(prescription, now)
        if state.due:
            due[prescription.patient_id].append((prescription, state.message))
    raised = 0
    for patient_id, items in due.items():
        key = (
            "abx-review:" + ",".join(str(p.pk) for p, _ in items) + f":{timezone.localdate(now).isoformat()}"
        )
        message = " ".join(f"{p.vmp.name}: {text}" for p, text in items)
        with transaction.atomic():
            if alert_raise(
                key=key,
                patient_id=patient_id,
                kind=ALERT_KIND,
                severity=AlertSeverity.ALERT,
                message=message,
                encounter=items[0][0].encounter,
            ):
                raised += 1
    return raised


@transaction.atomic
def antimicrobial_review_record(
    *,
    reviewed_by: Any,
    prescription: Prescription,
    decision: str,
    next_review_on: date | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> AntimicrobialReview:
    if decision not in Decision.LABELS:
        raise RecordError("Choose the decision of the review.", field="decision")
    note = note.strip()
    if decision in Decision.NEEDS_NEXT_REVIEW:
        if next_review_on is None:
            raise RecordError("Give the date of the next review.", field="next_review_on")
        if next_review_on <= timezone.localdate():
            raise RecordError("The next review must be after today.", field="next_review_on")
    if decision == Decision.CHANGE and not note:
        raise RecordError("Say what it is changed to, and why.", field="note")
    locked = lock_for_edit(
        prescription,
        expected_version,
        noun="prescription",
        refuse=lambda row: (
            "" if row.status == PrescriptionStatus.ACTIVE else "This prescription is no longer active."
        ),
    )
    review = AntimicrobialReview.objects.create(
        prescription=locked,
        decision=decision,
        next_review_on=next_review_on if decision in Decision.NEEDS_NEXT_REVIEW else None,
        note=note,
        reviewed_by=reviewed_by,
        reviewed_at=timezone.now(),
    )
    label = Decision.LABELS[decision]
    if decision in Decision.ENDS:
        prescription_stop(
            stopped_by=reviewed_by,
            prescription=locked,
            reason=f"Antimicrobial review: {label}" + (f". {note}" if note else ""),
            expected_version=locked.version,
        )
    else:
        locked.review_on = next_review_on
        locked.version += 1
        history_note(locked, reason=f"Antimicrobial review: {label}", user=reviewed_by)
        locked.save()
    _answer_alert(locked.patient_id, reviewed_by, f"Antimicrobial review of {locked.vmp.name}: {label}")
    audit_record(
        user=reviewed_by,
        action=Action.CREATE,
        patient_id=locked.patient_id,
        obj=review,
        detail={"decision": decision},
    )
    return review


def _answer_alert(patient_id: int, user: Any, note: str) -> None:
    alert = ClinicalAlert.objects.filter(
        patient_id=patient_id, kind=ALERT_KIND, status__in=ACTIVE_ALERT_STATUSES
    ).first()
    if alert is not None and alert.status == AlertStatus.OPEN:
        alert_acknowledge(alert=alert, user=user, note=note)
