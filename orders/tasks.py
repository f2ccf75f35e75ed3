"""Celery tasks: thin, idempotent, safe to retry; each calls one service."""

from typing import Any

from celery import shared_task

from orders.services import results


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def raise_result_alert(self: Any, report_id: int) -> int | None:
    alert = results.result_alert_raise(report_id=report_id)
    return alert.pk if alert is not None else None


@shared_task
def escalate_unacknowledged_results() -> int:
    return results.escalate_unacknowledged()
