"""Display of subject-access export values (dates in Europe/London, yes/no, blanks)."""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def sar_value(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value) if timezone.is_aware(value) else value, "d-M-Y H:i")
    if isinstance(value, date):
        return date_format(value, "d-M-Y")
    return str(value)


@register.filter
def sar_filled(details: dict) -> list[tuple[str, object]]:
    """The details worth printing: blank values are left out of the PDF (the JSON keeps them)."""
    return [(label, value) for label, value in details.items() if value not in (None, "")]
