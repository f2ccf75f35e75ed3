"""Celery tasks: thin, idempotent, safe to retry; each calls one service."""

from celery import shared_task

from prescribing.services import antimicrobials


@shared_task
def raise_antimicrobial_review_alerts() -> int:
    return antimicrobials.raise_review_alerts()
