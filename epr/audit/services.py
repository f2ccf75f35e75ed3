from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from epr.audit import context
from epr.audit.actions import check_audit_action
from epr.audit.models import AuditEvent


def _with_page(detail: dict[str, Any], ctx: context.AuditContext, channel: str) -> dict[str, Any]:
    """A page read also records the page's path, so the access log can name it ("NEWS2 chart");
    API rows already say what they searched or read."""
    if ctx.path and channel == context.Channel.PAGE and "path" not in detail:
        return {"path": ctx.path, **detail}
    return detail


def _who(user: Any) -> dict[str, Any]:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return {
        "user_id": user.pk if authenticated else None,
        "username": user.get_username() if authenticated else "",
        "role": getattr(user, "role", "") if authenticated else "",
    }


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
    check_audit_action(action)
    ctx = context.current()
    return AuditEvent.objects.create(
        **_who(user),
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


def audit_patients_shown(
    *,
    user: Any,
    action: str,
    patient_ids: Iterable[int],
    detail: dict[str, Any],
    per_patient: Mapping[int, dict[str, Any]] | None = None,
    break_glass_reason: str = "",
    channel: str | None = None,
) -> list[AuditEvent]:
    """A list or search read every patient it showed: one row per patient (so each one's "who accessed
    this record" and subject-access export show it), written in one INSERT whatever the length.

    detail (the list's name, the criteria) goes on every row; per_patient adds what was shown of that
    patient (the resource ids of a FHIR search). A list that showed nobody still leaves one row, with no
    patient, so the user's own activity shows the look."""
    check_audit_action(action)
    ctx = context.current()
    channel = channel or ctx.channel
    who = _who(user)
    ids: list[int | None] = list(dict.fromkeys(patient_ids)) or [None]  # first-shown order, each patient once
    extra = per_patient or {}

    def shown(patient_id: int | None) -> dict[str, Any]:
        """What the row adds for its patient; nothing on the row of a list that showed nobody."""
        return {} if patient_id is None else extra.get(patient_id, {})

    return AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                **who,
                api_client=ctx.api_client,
                patient_id=patient_id,
                action=action,
                client_address=ctx.client_address,
                channel=channel,
                break_glass_reason=break_glass_reason,
                detail=_with_page({**detail, **shown(patient_id)}, ctx, channel),
            )
            for patient_id in ids
        ]
    )
