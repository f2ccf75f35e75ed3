"""The alerts that observations raise and clear: a NEWS2 escalation when a set scores, its resolution or
re-scoring by the next set, overdue observations, and the sweep that catches an alert a crash missed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from records.models import (
    ACTIVE_ALERT_STATUSES,
    AlertEventAction,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    AlertTrigger,
    ClinicalAlert,
    Encounter,
    EncounterStatus,
    EntryStatus,
    ObservationSet,
)
from records.rules import news2
from records.services.alerts import alert_event_record, alert_raise

FIRST_OBSERVATIONS_DUE = timedelta(hours=1)


def _news2_message(result: news2.News2Result) -> str:
    reason = f"NEWS2 {result.total}" + (" with a score of 3 in one parameter" if result.red_score else "")
    return f"{reason}. {result.response}"


def alert_raise_for_set(*, obs: ObservationSet) -> ClinicalAlert | None:
    result = obs.news2_result
    if obs.status != EntryStatus.FINAL or result is None or result.escalation == news2.Escalation.NONE:
        return None
    severity = AlertSeverity.URGENT if result.escalation == news2.Escalation.URGENT else AlertSeverity.ALERT
    return alert_raise(
        key=f"news2:{obs.pk}",
        patient_id=obs.patient_id,
        kind=AlertKind.NEWS2,
        severity=severity,
        risk=result.risk.value,
        score=result.total,
        message=_news2_message(result),
        encounter=obs.encounter,
        obs=obs,
    )


def alert_for_set(obs: ObservationSet) -> ClinicalAlert | None:
    """The alert a set raised or updated, if any (for a retried task)."""
    trigger = AlertTrigger.objects.select_related("alert").filter(key=f"news2:{obs.pk}").first()
    return trigger.alert if trigger else None


def alerts_after_observations(*, obs: ObservationSet) -> None:
    """A complete set was recorded: it answers an overdue-observations alert, and a set that scores
    without escalating still updates the NEWS2 alert that is waiting, so the ward sees the latest score.
    An incomplete set (a weight, a pulse alone) answers neither."""
    result = obs.news2_result
    if result is None:
        return
    now = timezone.now()
    for alert in ClinicalAlert.objects.select_for_update().filter(
        patient_id=obs.patient_id, kind=AlertKind.OBS_OVERDUE, status__in=ACTIVE_ALERT_STATUSES
    ):
        alert.status, alert.acknowledged_at = AlertStatus.RESOLVED, now
        alert.acknowledged_by = obs.recorded_by
        alert.response_note = "Observations recorded"
        alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "response_note"])
        alert_event_record(
            alert, AlertEventAction.RESOLVED, user=obs.recorded_by, reason="Observations recorded", at=now
        )
    if result.escalation != news2.Escalation.NONE:
        return  # an escalating set updates its alert through the alert task
    for alert in ClinicalAlert.objects.select_for_update().filter(
        patient_id=obs.patient_id, kind=AlertKind.NEWS2, status__in=ACTIVE_ALERT_STATUSES
    ):
        alert.score, alert.updated_at = result.total, now
        alert.observation_set = obs
        alert.save(update_fields=["score", "updated_at", "observation_set"])
        alert_event_record(alert, AlertEventAction.RESCORED, reason=f"NEWS2 {result.total}", at=now)


def observations_due_at(encounter: Encounter, last: ObservationSet | None) -> datetime:
    if last is None:
        return encounter.admitted_at + FIRST_OBSERVATIONS_DUE
    result = last.news2_result
    interval = result.monitoring_interval if result else timedelta(hours=4)
    return last.taken_at + interval


def raise_overdue_observation_alerts(*, now: datetime | None = None) -> int:
    """One overdue alert per patient at a time; a missed due time raises it once (its key names the set,
    or the admission, that the due time follows). Recording observations resolves it."""
    now = now or timezone.now()
    raised = 0
    encounters = Encounter.objects.filter(status=EncounterStatus.ACTIVE).select_related("team__staff_group")
    latest = {}
    for obs in (
        # Only a complete (scored) set is a set of observations for NEWS2: a weight alone is not.
        ObservationSet.objects.filter(
            encounter__status=EncounterStatus.ACTIVE, status=EntryStatus.FINAL, news2_total__isnull=False
        )
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
        if alert_raise(
            key=key,
            patient_id=encounter.patient_id,
            kind=AlertKind.OBS_OVERDUE,
            severity=AlertSeverity.ALERT,
            encounter=encounter,
            due_at=due,
            message=f"Observations were due at {timezone.localtime(due):%H:%M on %d-%b}.",
        ):
            raised += 1
    return raised


def sweep_missed_news2_alerts(*, since: timedelta = timedelta(hours=24)) -> int:
    """Backstop for a lost task message: raise (or update) any escalation not yet seen as a trigger."""
    raised = 0
    candidates = (
        ObservationSet.objects.filter(
            recorded_at__gte=timezone.now() - since,
            status=EntryStatus.FINAL,
            news2_risk__in=[
                news2.Risk.LOW_MEDIUM,
                news2.Risk.MEDIUM,
                news2.Risk.HIGH,
            ],  # the ones that escalate
        )
        .exclude(Exists(AlertTrigger.objects.filter(observation_set=OuterRef("pk"))))
        .select_related("encounter__team")
        .order_by("taken_at")
    )
    for obs in candidates:
        if alert_raise_for_set(obs=obs):
            raised += 1
    return raised


def alerts_withdraw_for_set(*, obs: ObservationSet, user) -> int:
    """A set later found to be entered in error no longer counts: an alert that only it triggered is
    withdrawn, not left waiting; an alert other sets triggered too stays, with the error noted."""
    now = timezone.now()
    withdrawn = 0
    reason = f"Observations entered in error: {obs.error_reason}"
    alert_ids = AlertTrigger.objects.filter(observation_set=obs).values("alert_id")
    for alert in ClinicalAlert.objects.select_for_update().filter(
        pk__in=alert_ids, status__in=ACTIVE_ALERT_STATUSES
    ):
        others = (
            AlertTrigger.objects.filter(alert=alert, observation_set__status=EntryStatus.FINAL)
            .exclude(observation_set=obs)
            .order_by("-at")
            .first()
        )
        if others is None:
            alert.status = AlertStatus.WITHDRAWN
            alert.acknowledged_by, alert.acknowledged_at = user, now
            alert.response_note = reason
            alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "response_note"])
            withdrawn += 1
        else:
            alert.score, alert.observation_set_id, alert.message = (
                others.score,
                others.observation_set_id,
                others.message,
            )
            alert.save(update_fields=["score", "observation_set", "message"])
        alert_event_record(alert, AlertEventAction.OVERRIDDEN, user=user, reason=reason, at=now)
    return withdrawn
