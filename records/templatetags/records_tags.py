from dataclasses import dataclass
from typing import Any

from django import template
from django.template import Context
from django.urls import reverse
from django.utils import timezone

from records.registries.alerts import alert_kind
from records.registries.patient_page import BannerItem, banner_items, patient_sections
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


@register.filter
def alert_patient_page(code: str) -> str:
    """The view name of the patient page where an alert of this kind is acted on."""
    return alert_kind(code).patient_page


@dataclass(frozen=True)
class SectionLink:
    label: str
    url: str
    current: bool


@register.simple_tag(takes_context=True)
def record_sections(context: Context, opened: Any) -> list[SectionLink]:
    """The registered sections of this patient's record this user may open, and which one is shown."""
    request = context["request"]
    match = request.resolver_match
    here = match.view_name if match else ""
    clinical = bool(opened.access.clinical)
    links = []
    for section in patient_sections():
        if section.clinical and not clinical:
            continue
        if section.current_when is not None:
            current = section.current_when(here, request.user)
        else:
            current = here == section.url_name or here in section.also_current_on
        links.append(SectionLink(section.label, reverse(section.url_name, args=[opened.patient.pk]), current))
    return links


@register.simple_tag
def record_banner_items(opened: Any) -> list[BannerItem]:
    """The banner items other apps registered that have something to show for this patient."""
    return [item for item in banner_items() if item.shown_for(opened)]
