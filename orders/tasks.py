"""Celery tasks: thin, idempotent, safe to retry; each calls one service."""

from typing import Any

from celery import shared_task

from orders.services import outbound, results


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def raise_result_alert(self: Any, report_id: int) -> int | None:
    alert = results.result_alert_raise(report_id=report_id)
    return alert.pk if alert is not None else None


@shared_task
def escalate_unacknowledged_results() -> int:
    return results.escalate_unacknowledged()


@shared_task(bind=True, max_retries=12)
def send_order_message(self: Any, message_id: int) -> str:
    """Retried with back-off up to ten minutes apart; past that the beat task below keeps trying, so
    a message is never dropped. The failure is recorded (and shown on the ward) before each retry."""
    try:
        return outbound.message_send(message_id=message_id)
    except outbound.SendFailed as exc:
        if self.request.is_eager:
            return "failed"  # run in-process (tests, no broker): no waiting here; the beat task retries
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc


@shared_task
def resend_unsent_order_messages() -> int:
    return outbound.messages_resend()
