"""Kinds of decision-support alert. records registers NEWS2 escalations and overdue observations;
orders (an abnormal result), prescribing (a missed dose) and mentalhealth (a section about to lapse)
register theirs from their wiring.py and raise them with records.services.alert_raise, idempotent by
the trigger's key. An alert of a kind nobody registered is refused."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlertKindSpec:
    code: str  # stored on the alert: "news2"
    label: str  # "NEWS2 escalation"
    acting_roles: frozenset[str]  # the roles whose Alerts page shows it
    # Acknowledging must record who was informed, when, and what came of it (else: doing it answers it).
    response_required: bool = False
    order: int = 100  # triage: lower first, after severity
    # The patient page where the alert is acted on (takes the patient's id); records' chart if none.
    patient_page: str = "records:observation_chart"


_kinds: dict[str, AlertKindSpec] = {}


def register_alert_kind(kind: AlertKindSpec) -> None:
    if len(kind.code) > 20:
        raise ValueError(f"Alert kind {kind.code!r}: at most 20 characters.")
    _kinds[kind.code] = kind


def alert_kind(code: str) -> AlertKindSpec:
    try:
        return _kinds[code]
    except KeyError:
        raise LookupError(f"No alert kind {code!r} is registered.") from None


def alert_kinds() -> list[AlertKindSpec]:
    return sorted(_kinds.values(), key=lambda kind: (kind.order, kind.code))


def kinds_acted_on_by(role: str) -> list[str]:
    return [kind.code for kind in alert_kinds() if role in kind.acting_roles]
