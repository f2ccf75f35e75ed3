"""Celery tasks: thin, idempotent, safe to retry; each calls one service."""

from celery import shared_task

from records import services
from records.models import ObservationSet


@shared_task
def withdraw_ended_care_relationships() -> int:
    return services.withdraw_ended_care_relationships()


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def raise_news2_alert(self, observation_set_id: int) -> int | None:
    obs = ObservationSet.objects.select_related("encounter__team").get(pk=observation_set_id)
    # A retry finds the alert its first run raised, and still emails it if that run did not.
    alert = services.alert_raise_for_set(obs=obs) or services.alert_for_set(obs)
    if alert is None:
        return None
    services.alert_send_email(alert=alert)
    return alert.pk


@shared_task
def check_overdue_observations() -> int:
    return services.raise_overdue_observation_alerts()


@shared_task
def sweep_missed_news2_alerts() -> int:
    return services.sweep_missed_news2_alerts()


@shared_task
def generate_subject_access_export(request_id: int) -> str:
    """Not auto-retried: the service records a failure on the request, and staff generate again."""
    sar = services.subject_access_generate(sar_id=request_id)
    return sar.status if sar is not None else "skipped"
