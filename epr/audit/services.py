from __future__ import annotations

from typing import Any

from django.db import models

from epr.audit import context
from epr.audit.models import AuditEvent


def _with_page(detail: dict[str, Any], ctx: context.AuditContext, channel: str) -> dict[str, Any]:
    """A page read also records the page's path, so the access log can name it ("NEWS2 chart");
    API rows already say what they searched or read."""
    if ctx.path and channel == context.Channel.PAGE and "path" not in detail:
        return {"path": ctx.path, **detail}
    return detail


def audit_record(
    *,
    user: Any,
    action: str,
    patient_id: int | None = None,
    obj: models.Model | None = None,
    break_glass_reason: str = "",
    channel: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row; call it inside the transaction of the write it records."""
    ctx = context.current()
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEvent.objects.create(
        user_id=user.pk if authenticated else None,
        username=user.get_username() if authenticated else "",
        role=getattr(user, "role", "") if authenticated else "",
        api_client=ctx.api_client,
        patient_id=patient_id,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        client_address=ctx.client_address,
        channel=channel or ctx.channel,
        break_glass_reason=break_glass_reason,
        detail=_with_page(detail or {}, ctx, channel or ctx.channel),
    )
