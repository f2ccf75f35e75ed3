from django import template
from django.utils import timezone

from records.registries.alerts import alert_kind
from records.rules import patients as rules

register = template.Library()


@register.filter
def age(patient) -> str:
    return rules.describe_age(patient.date_of_birth, timezone.localdate(), patient.date_of_death)


@register.filter
def nhs_number(value: str) -> str:
    return rules.format_nhs_number(value)


@register.filter
def waited(since, now=None) -> str:
    """How long since a moment, as people say it ("2 hours 5 minutes")."""
    if not since:
        return ""
    return rules.describe_duration((now or timezone.now()) - since)


@register.filter
def waited_short(since, now=None) -> str:
    """The same, compact for a whiteboard cell ("2d 10h", "1h 5m", "45m")."""
    if not since:
        return ""
    minutes = max(int(((now or timezone.now()) - since).total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


@register.filter
def alert_kind_label(code: str) -> str:
    """What the registered kind of alert is called ("NEWS2 escalation")."""
    return alert_kind(code).label
