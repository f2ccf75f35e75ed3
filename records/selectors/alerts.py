"""The Alerts page as each user sees it: the alerts for their groups, in triage order, with counts for the
menu badge and the history of one alert."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, Exists, OuterRef, QuerySet, Value, When

from records.models import (
    ACTIVE_ALERT_STATUSES,
    AlertStatus,
    ClinicalAlert,
    WardStay,
)
from records.registries.alerts import alert_kinds, kinds_acted_on_by
from records.selectors.patients import cared_for_by


def alerts_for_user(user, *, include_closed: bool = False) -> QuerySet[ClinicalAlert]:
    """Alerts addressed to the user's wards and teams, of the kinds their role acts on (a pharmacist gets
    no NEWS2 escalations), for patients they may still open. Active ones in triage order: urgent first,
    NEWS2 escalations before overdue observations, awaiting a response before awaiting review, then the
    longest waiting."""
    kinds = kinds_acted_on_by(user.role)
    queryset = (
        ClinicalAlert.objects.filter(kind__in=kinds)
        .filter(
            Exists(
                ClinicalAlert.recipients.through.objects.filter(
                    clinicalalert_id=OuterRef("pk"), group__user=user
                )
            )
        )
        .filter(cared_for_by(user))
    )
    if not include_closed:
        queryset = queryset.filter(status__in=ACTIVE_ALERT_STATUSES)
    return queryset.select_related("patient", "observation_set", "acknowledged_by").order_by(
        Case(When(severity="urgent", then=Value(0)), default=Value(1)),
        # By kind: a deteriorating patient (NEWS2) before late observations, as the kinds' order says.
        Case(*[When(kind=k.code, then=Value(k.order)) for k in alert_kinds()], default=Value(1000)),
        Case(When(status=AlertStatus.OPEN, then=Value(0)), default=Value(1)),
        "needs_response_since",
        "pk",
    )


@dataclass(frozen=True)
class AlertRow:
    alert: ClinicalAlert
    stay: WardStay | None


def alert_rows(user, *, limit: int = 200) -> list[AlertRow]:
    """The active alerts with where each patient is now (ward and bed), in triage order; 2 queries."""
    alerts = list(alerts_for_user(user)[:limit])
    stays = {
        s.encounter.patient_id: s
        for s in WardStay.objects.filter(
            ended_at__isnull=True, encounter__patient_id__in=[a.patient_id for a in alerts]
        ).select_related("ward", "bed__bay", "encounter")
    }
    return [AlertRow(alert=a, stay=stays.get(a.patient_id)) for a in alerts]


def alert_counts(user) -> dict[str, int]:
    """Active alerts by severity, for the menu badge: {"urgent": n, "alert": m, "total": n + m}."""
    counts = {"urgent": 0, "alert": 0}
    for row in alerts_for_user(user).order_by().values("severity").annotate(n=Count("pk")):
        counts[row["severity"]] = row["n"]
    return {**counts, "total": sum(counts.values())}


def open_alert_count(user) -> int:
    return alert_counts(user)["total"]


def alert_for_user(user, alert_id: int) -> ClinicalAlert:
    """One alert addressed to the user (active or answered); raises ClinicalAlert.DoesNotExist."""
    return alerts_for_user(user, include_closed=True).get(pk=alert_id)


def alert_history(alert: ClinicalAlert) -> tuple[list, list]:
    """Its triggers (every score) and every answer, oldest first, leaving out the 'shown' receipts."""
    triggers = list(alert.triggers.select_related("observation_set"))
    events = list(alert.events.exclude(action="shown").select_related("user"))
    return triggers, events
