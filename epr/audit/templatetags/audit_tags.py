from __future__ import annotations

from django import template

from epr.audit.actions import audit_action_label

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return audit_action_label(code)
