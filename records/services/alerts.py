"""Decision-support alerts: raised idempotently (one per trigger), acknowledged once, all kept."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records import news2
from records.errors import RecordError
from records.models import (
    AlertEvent,
    AlertEventAction,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    ClinicalAlert,
    Encounter,
    EncounterStatus,
    EntryStatus,
    ObservationSet,
    WardStay,
)
from records.services.observations import result_of

FIRST_OBSERVATIONS_DUE = timedelta(hours=1)


def _recipient_groups(encounter: Encounter | None) -> list:
    """The ward the patient is on (nurse in charge and ward staff) and the treating medical team."""
    if encounter is None:
        return []
    groups = []
    stay = (
        WardStay.objects.select_related("ward__staff_group")
        .filter(encounter=encounter, ended_at__isnull=True)
        .first()
    )
    if stay:
        groups.append(stay.ward.staff_group)
    if encounter.team_id:
        groups.append(encounter.team.staff_group)
    return groups


def _raise(
    *, key: str, patient_id: int, kind: str, severity: str, message: str, encounter, obs=None
) -> ClinicalAlert | None:
    """Create the alert for `key` unless it exists; returns None when it was raised before."""
    try:
        with transaction.atomic():
            alert = ClinicalAlert.objects.create(
                key=key,
                patient_id=patient_id,
                kind=kind,
                severity=severity,
                message=message,
                observation_set=obs,
                raised_at=timezone.now(),
            )
    except IntegrityError:
        return None
    alert.recipients.set(_recipient_groups(encounter))
    audit_record(
        user=None,
        action=Action.CREATE,
        patient_id=patient_id,
        obj=alert,
        channel="system",
        detail={"kind": kind, "severity": severity},
    )
    return alert


@transaction.atomic
def alert_raise_for_set(*, obs: ObservationSet) -> ClinicalAlert | None:
    result = result_of(obs)
    if obs.status != EntryStatus.FINAL or result is None or result.escalation == news2.Escalation.NONE:
        return None
    severity = AlertSeverity.URGENT if result.escalation == news2.Escalation.URGENT else AlertSeverity.ALERT
    reason = f"NEWS2 {result.total}" + (" with a score of 3 in one parameter" if result.red_score else "")
    alert = _raise(
        key=f"news2:{obs.pk}",
        patient_id=obs.patient_id,
        kind=AlertKind.NEWS2,
        severity=severity,
        message=f"{reason}. {result.response}",
        encounter=obs.encounter,
        obs=obs,
    )
    return alert


@transaction.atomic
def alert_send_email(*, alert: ClinicalAlert) -> bool:
    """Email the alert once, where an address is configured. No patient identifiers in the email.
    The row lock makes a retried or repeated task send it once (at least once, if a commit fails)."""
    address = getattr(settings, "EPR_ALERT_EMAIL", "")
    if not address:
        return False
    locked = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.emailed_at:
        return False
    send_mail(
        subject=f"EPR {locked.get_severity_display()} alert",
        message=f"An {locked.get_kind_display()} alert needs acknowledging in the EPR (alert {locked.pk}).",
        from_email=None,
        recipient_list=[address],
    )
    locked.emailed_at = timezone.now()
    locked.save(update_fields=["emailed_at"])
    return True


@transaction.atomic
def alert_acknowledge(
    *, alert: ClinicalAlert, user, note: str = "", escalated: bool = False
) -> ClinicalAlert:
    locked = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.status != AlertStatus.OPEN:
        raise RecordError(f"This alert was already acknowledged by {locked.acknowledged_by}.")
    if escalated and not note.strip():
        raise RecordError("Say who the alert was escalated to.", field="note")
    locked.status = AlertStatus.ESCALATED if escalated else AlertStatus.ACKNOWLEDGED
    locked.acknowledged_by = user
    locked.acknowledged_at = timezone.now()
    locked.response_note = note.strip()
    locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "response_note"])
    AlertEvent.objects.create(
        alert=locked,
        user=user,
        at=locked.acknowledged_at,
        reason=locked.response_note,
        action=AlertEventAction.ESCALATED if escalated else AlertEventAction.ACKNOWLEDGED,
    )
    audit_record(
        user=user,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": locked.status},
    )
    return locked


def observations_due_at(encounter: Encounter, last: ObservationSet | None) -> datetime:
    if last is None:
        return encounter.admitted_at + FIRST_OBSERVATIONS_DUE
    result = result_of(last)
    interval = result.monitoring_interval if result else timedelta(hours=4)
    return last.taken_at + interval


def raise_overdue_observation_alerts(*, now: datetime | None = None) -> int:
    """One alert per missed due time. Idempotent: the key names the set (or admission) it follows."""
    now = now or timezone.now()
    raised = 0
    encounters = Encounter.objects.filter(status=EncounterStatus.ACTIVE).select_related("team__staff_group")
    latest = {}
    for obs in (
        ObservationSet.objects.filter(encounter__status=EncounterStatus.ACTIVE, status=EntryStatus.FINAL)
        .order_by("encounter_id", "-taken_at")
        .distinct("encounter_id")
    ):
        latest[obs.encounter_id] = obs
    for encounter in encounters:
        last = latest.get(encounter.pk)
        due = observations_due_at(encounter, last)
        if due > now:
            continue
        key = f"overdue:set:{last.pk}" if last else f"overdue:admission:{encounter.pk}"
        minutes = int((now - due).total_seconds() // 60)
        with transaction.atomic():
            if _raise(
                key=key,
                patient_id=encounter.patient_id,
                kind=AlertKind.OBS_OVERDUE,
                severity=AlertSeverity.ALERT,
                encounter=encounter,
                message=f"Observations overdue by {minutes} minutes.",
            ):
                raised += 1
    return raised


def sweep_missed_news2_alerts(*, since: timedelta = timedelta(hours=24)) -> int:
    """Backstop for a lost task message: raise any escalation alert not yet raised."""
    raised = 0
    candidates = ObservationSet.objects.filter(
        recorded_at__gte=timezone.now() - since,
        status=EntryStatus.FINAL,
        news2_risk__in=[news2.Risk.LOW_MEDIUM, news2.Risk.MEDIUM, news2.Risk.HIGH],  # the ones that escalate
        alerts__isnull=True,
    ).select_related("encounter__team")
    for obs in candidates:
        if alert_raise_for_set(obs=obs):
            raised += 1
    return raised


def alerts_mark_shown(*, user, alerts: list[ClinicalAlert]) -> None:
    """Record that these alerts were put in front of the user (one insert for the page)."""
    now = timezone.now()
    AlertEvent.objects.bulk_create(
        [AlertEvent(alert=a, user=user, action=AlertEventAction.SHOWN, at=now) for a in alerts]
    )


def alerts_readdress(*, encounter: Encounter) -> int:
    """Send a patient's open alerts to the ward they are on now (and their team), after a transfer."""
    groups = _recipient_groups(encounter)
    open_alerts = list(ClinicalAlert.objects.filter(patient_id=encounter.patient_id, status=AlertStatus.OPEN))
    for alert in open_alerts:
        alert.recipients.add(*groups)
    return len(open_alerts)


def alerts_withdraw_for_set(*, obs: ObservationSet, user) -> int:
    """An alert raised by a set later found to be entered in error is withdrawn, not left waiting."""
    now = timezone.now()
    withdrawn = 0
    for alert in ClinicalAlert.objects.select_for_update().filter(
        observation_set=obs, status=AlertStatus.OPEN
    ):
        alert.status = AlertStatus.WITHDRAWN
        alert.acknowledged_by, alert.acknowledged_at = user, now
        alert.response_note = f"Observations entered in error: {obs.error_reason}"
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "response_note"])
        AlertEvent.objects.create(
            alert=alert, user=user, action=AlertEventAction.OVERRIDDEN, at=now, reason=alert.response_note
        )
        withdrawn += 1
    return withdrawn
