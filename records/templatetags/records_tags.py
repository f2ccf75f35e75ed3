from django import template
from django.utils import timezone

from records import rules

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
