"""Decision-support alerts: one active alert per patient and condition, updated by each new trigger
(idempotent by the trigger's key), answered with a recorded response, every trigger and answer kept."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import (
    ACTIVE_ALERT_STATUSES,
    AlertEvent,
    AlertEventAction,
    AlertOutcome,
    AlertSeverity,
    AlertStatus,
    AlertTrigger,
    CareRelationship,
    CareRelationshipKind,
    ClinicalAlert,
    Encounter,
    ObservationSet,
    Patient,
    Team,
    WardStay,
)
from records.registries.alerts import alert_kind
from records.rules import alerts as alert_rules
from records.services.access import care_access_sync


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


def _fallback_team() -> Team | None:
    name = getattr(settings, "EPR_ALERT_FALLBACK_TEAM", "")
    return Team.objects.select_related("staff_group").filter(name=name).first() if name else None


def _alert_recipients(encounter: Encounter | None) -> tuple[list, Team | None]:
    """The ward and team, or, when there is neither, the configured fallback team (returned too, as it
    needs a care relationship to open the patient): an alert must always reach someone."""
    groups = _recipient_groups(encounter)
    if groups:
        return groups, None
    fallback = _fallback_team()
    return ([fallback.staff_group], fallback) if fallback else ([], None)


def _give_fallback_access(patient_id: int, team: Team, now: datetime) -> None:
    """The fallback team may open the patient while the alert is acted on: a care relationship that
    ends after the usual grace period, withdrawn then by the beat task like any other."""
    if CareRelationship.objects.filter(
        patient_id=patient_id, group=team.staff_group, access_withdrawn=False, ends_at__gt=now
    ).exists():
        return
    CareRelationship.objects.create(
        patient_id=patient_id,
        group=team.staff_group,
        kind=CareRelationshipKind.TEAM,
        encounter=None,
        started_at=now,
        ends_at=now + settings.EPR_CARE_GRACE_PERIOD,
    )
    care_access_sync(patient=Patient.objects.get(pk=patient_id))


def recipients_described(encounter: Encounter | None) -> str:
    """Who an alert for this admission goes to, in words ("Ward 7 and Dr Dee's firm")."""
    names = []
    for group in _alert_recipients(encounter)[0]:
        owner = getattr(group, "ward", None) or getattr(group, "team", None)
        names.append(owner.name if owner else group.name)
    return " and ".join(names)


def _lock_condition(patient_id: int, kind: str) -> None:
    # Two triggers for the same patient and condition at once must find one alert, not make two: the row
    # to lock may not exist yet, so serialise on (patient, kind) for the transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"alert:{patient_id}:{kind}"]
        )


def alert_event_record(
    alert: ClinicalAlert, action: str, *, user=None, reason: str = "", at: datetime | None = None
):
    return AlertEvent.objects.create(
        alert=alert, user=user, action=action, at=at or timezone.now(), reason=reason
    )


@transaction.atomic
def alert_raise(
    *,
    key: str,
    patient_id: int,
    kind: str,
    severity: str,
    message: str,
    encounter: Encounter | None,
    obs: ObservationSet | None = None,
    risk: str = "",
    score: int | None = None,
    due_at: datetime | None = None,
) -> ClinicalAlert | None:
    """Raise the alert for a trigger, or update the patient's active alert of that kind with it.

    Idempotent by `key`: a trigger seen before changes nothing and returns None. A trigger in a higher
    risk band than the response so far re-opens the alert (a new response is needed, and it is sent again).
    """
    alert_kind(kind)  # an unregistered kind is refused: nobody's Alerts page would show it
    _lock_condition(patient_id, kind)
    if AlertTrigger.objects.filter(key=key).exists():
        return None
    now = timezone.now()
    alert = (
        ClinicalAlert.objects.select_for_update()
        .filter(patient_id=patient_id, kind=kind, status__in=ACTIVE_ALERT_STATUSES)
        .first()
    )
    if alert is None:
        alert = ClinicalAlert.objects.create(
            key=key,
            patient_id=patient_id,
            kind=kind,
            severity=severity,
            risk=risk,
            score=score,
            message=message,
            observation_set=obs,
            due_at=due_at,
            raised_at=now,
            needs_response_since=now,
        )
        action = Action.CREATE
    else:
        _update_active(alert, severity=severity, risk=risk, score=score, message=message, obs=obs, now=now)
        action = Action.UPDATE
    AlertTrigger.objects.create(
        key=key,
        alert=alert,
        at=now,
        observation_set=obs,
        score=score,
        severity=severity,
        risk=risk,
        message=message,
    )
    groups, fallback = _alert_recipients(encounter)
    if fallback is not None:
        _give_fallback_access(patient_id, fallback, now)
    alert.recipients.add(*groups)
    audit_record(
        user=None,
        action=action,
        patient_id=patient_id,
        obj=alert,
        channel="system",
        detail={"kind": kind, "severity": alert.severity, "trigger": key.split(":", 1)[0]},
    )
    return alert


def _update_active(alert: ClinicalAlert, *, severity, risk, score, message, obs, now) -> None:
    rose = alert_rules.risk_rose(alert.risk, risk) or (
        severity == AlertSeverity.URGENT and alert.severity != AlertSeverity.URGENT
    )
    before = alert.score
    alert.score, alert.message, alert.updated_at = score, message, now
    alert.observation_set = obs or alert.observation_set
    if rose:
        alert.severity, alert.risk = severity, risk
        alert.status = AlertStatus.OPEN
        alert.needs_response_since, alert.emailed_at = now, None
        alert.outcome = ""
        alert_event_record(
            alert, AlertEventAction.RE_ESCALATED, reason=f"NEWS2 rose from {before} to {score}", at=now
        )
    else:
        alert_event_record(alert, AlertEventAction.RESCORED, reason=f"NEWS2 {score}", at=now)
    alert.save()


@transaction.atomic
def alert_send_email(*, alert: ClinicalAlert) -> bool:
    """Email the alert once per raising (and again when its risk rises), where an address is configured.
    No patient identifiers in the email. The row lock makes a retried task send it once."""
    address = getattr(settings, "EPR_ALERT_EMAIL", "")
    if not address:
        return False
    locked = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.emailed_at or not locked.is_active:
        return False
    send_mail(
        subject=f"EPR {locked.get_severity_display()} alert",
        message=f"An {alert_kind(locked.kind).label} alert needs a response in the EPR (alert {locked.pk}).",
        from_email=None,
        recipient_list=[address],
    )
    locked.emailed_at = timezone.now()
    locked.save(update_fields=["emailed_at"])
    return True


def _answered_by(alert: ClinicalAlert) -> str:
    if alert.acknowledged_by:
        return f"{alert.acknowledged_by} at {timezone.localtime(alert.acknowledged_at):%H:%M}"
    return "someone else"


@transaction.atomic
def alert_acknowledge(
    *,
    alert: ClinicalAlert,
    user,
    note: str = "",
    informed: str = "",
    informed_at: datetime | None = None,
    outcome: str = "",
) -> ClinicalAlert:
    """Answer an alert. A NEWS2 alert needs who was informed, when, and what came of it; if a review was
    requested the alert stays on the list, escalated and awaiting that review."""
    locked = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.status != AlertStatus.OPEN:
        raise RecordError(f"This alert was already answered by {_answered_by(locked)}.")
    now = timezone.now()
    problems = alert_rules.check_response(
        required=alert_kind(locked.kind).response_required,
        informed=informed,
        informed_at=informed_at,
        outcome=outcome,
        now=now,
    )
    if problems:
        first = next(iter(problems.errors.values()))
        raise RecordError(first, field=next(iter(problems.errors)), errors=problems.errors)
    if outcome and outcome not in AlertOutcome.values:
        raise RecordError("Select what happened", field="outcome")
    awaiting_review = outcome in alert_rules.OUTCOMES_AWAITING_REVIEW
    locked.status = AlertStatus.ESCALATED if awaiting_review else AlertStatus.ACKNOWLEDGED
    locked.acknowledged_by, locked.acknowledged_at = user, now
    locked.response_note = note.strip()
    locked.informed, locked.informed_at, locked.outcome = informed.strip(), informed_at, outcome
    if awaiting_review:
        locked.needs_response_since = now  # now waiting for the review
    locked.save()
    summary = "; ".join(
        part
        for part in (
            f"Informed {locked.informed} at {timezone.localtime(informed_at):%H:%M}" if informed_at else "",
            locked.get_outcome_display() if outcome else "",
            locked.response_note,
        )
        if part
    )
    alert_event_record(
        locked,
        AlertEventAction.ESCALATED if awaiting_review else AlertEventAction.ACKNOWLEDGED,
        user=user,
        reason=summary,
        at=now,
    )
    audit_record(
        user=user,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": locked.status},
    )
    return locked


@transaction.atomic
def alert_record_review(
    *, alert: ClinicalAlert, user, reviewed_by: str, reviewed_at: datetime | None, note: str
) -> ClinicalAlert:
    """The clinician's review of an escalated alert: who reviewed, when, and the plan. Closes the alert."""
    locked = ClinicalAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.status != AlertStatus.ESCALATED:
        raise RecordError("This alert is not waiting for a review.")
    errors = {}
    if not reviewed_by.strip():
        errors["reviewed_by"] = "Enter the name of the clinician who reviewed the patient"
    if reviewed_at is None:
        errors["reviewed_at"] = "Enter when the patient was reviewed"
    elif reviewed_at > timezone.now():
        errors["reviewed_at"] = "The time of the review cannot be in the future"
    if not note.strip():
        errors["note"] = "Enter the outcome of the review or the plan"
    if errors:
        raise RecordError(next(iter(errors.values())), field=next(iter(errors)), errors=errors)
    locked.status = AlertStatus.REVIEWED
    locked.reviewed_by_name, locked.reviewed_at, locked.review_note = (
        reviewed_by.strip(),
        reviewed_at,
        note.strip(),
    )
    locked.save()
    alert_event_record(
        locked,
        AlertEventAction.REVIEWED,
        user=user,
        reason=f"Reviewed by {locked.reviewed_by_name}: {locked.review_note}",
    )
    audit_record(
        user=user,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": locked.status},
    )
    return locked


def alerts_mark_shown(*, user, alerts: list[ClinicalAlert]) -> None:
    """Record that these alerts were put in front of the user (one insert for the page)."""
    now = timezone.now()
    AlertEvent.objects.bulk_create(
        [AlertEvent(alert=a, user=user, action=AlertEventAction.SHOWN, at=now) for a in alerts]
    )


def alerts_readdress(*, encounter: Encounter) -> int:
    """Send a patient's active alerts to the ward they are on now (and their team), after a transfer."""
    groups = _recipient_groups(encounter)
    active = list(
        ClinicalAlert.objects.filter(patient_id=encounter.patient_id, status__in=ACTIVE_ALERT_STATUSES)
    )
    for alert in active:
        alert.recipients.add(*groups)
    return len(active)


def alerts_supersede_before_merge(*, survivor_id: int, duplicate_id: int, user) -> int:
    """Before a merge moves a duplicate's alerts: where both records have an active alert of one kind,
    the survivor's stands and the duplicate's is superseded (kept, with why): one active per condition."""
    now = timezone.now()
    kinds = set(
        ClinicalAlert.objects.filter(patient_id=survivor_id, status__in=ACTIVE_ALERT_STATUSES).values_list(
            "kind", flat=True
        )
    )
    superseded = 0
    for alert in ClinicalAlert.objects.select_for_update().filter(
        patient_id=duplicate_id, status__in=ACTIVE_ALERT_STATUSES, kind__in=kinds
    ):
        alert.status = AlertStatus.SUPERSEDED
        alert.save(update_fields=["status"])
        alert_event_record(
            alert,
            AlertEventAction.SUPERSEDED,
            user=user,
            reason="Record merged: the surviving record's alert for this condition stands",
            at=now,
        )
        superseded += 1
    return superseded
