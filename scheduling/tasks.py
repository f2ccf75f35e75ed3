"""Celery tasks: thin, idempotent, safe to retry; each calls one service. Each feature's tasks are in
its own block."""

from __future__ import annotations

# --- clinics and appointments ---
from celery import shared_task as _clinic_task


@_clinic_task
def generate_clinic_sessions() -> int:
    """Daily: keep six weeks of sessions made ahead. Idempotent (session_once_per_template)."""
    from scheduling.services.clinics import sessions_generate

    return sessions_generate().sessions


# --- discharge summaries and letters ---
from typing import Any as _Any  # noqa: E402

from celery import shared_task as _shared_task  # noqa: E402

from scheduling.services import delivery as _delivery  # noqa: E402


@_shared_task(bind=True, max_retries=12)
def send_document(self: _Any, delivery_id: int) -> str:
    """Retried with back-off up to ten minutes apart; past that the beat task below keeps trying. The
    failure is recorded (and shown on the document) before each retry."""
    try:
        return _delivery.delivery_send(delivery_id=delivery_id)
    except _delivery.SendFailed as exc:
        if self.request.is_eager:
            return "failed"  # run in-process (tests, no broker): the beat task retries
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc


@_shared_task
def resend_unsent_documents() -> int:
    """Every five minutes: queue what is unsent again, and mark acknowledged what the practice took."""
    _delivery.acknowledgements_collect()
    return _delivery.deliveries_resend()
