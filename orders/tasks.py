"""Celery tasks: thin, idempotent, safe to retry; each calls one service."""

from typing import Any

from celery import shared_task

from orders import services


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def raise_result_alert(self: Any, report_id: int) -> int | None:
    alert = services.result_alert_raise(report_id=report_id)
    return alert.pk if alert is not None else None


@shared_task
def escalate_unacknowledged_results() -> int:
    return services.escalate_unacknowledged()
