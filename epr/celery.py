import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epr.settings.dev")

app = Celery("epr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "withdraw-ended-care-relationships": {
        "task": "records.tasks.withdraw_ended_care_relationships",
        "schedule": crontab(minute="*/5"),
    },
    "check-overdue-observations": {
        "task": "records.tasks.check_overdue_observations",
        "schedule": crontab(minute="*/5"),
    },
    "raise-antimicrobial-review-alerts": {
        "task": "prescribing.tasks.raise_antimicrobial_review_alerts",
        "schedule": crontab(minute="*/30"),
    },
    "escalate-unacknowledged-results": {
        "task": "orders.tasks.escalate_unacknowledged_results",
        "schedule": crontab(minute="*/30"),
    },
    "resend-unsent-order-messages": {
        "task": "orders.tasks.resend_unsent_order_messages",
        "schedule": crontab(minute="*/5"),
    },
    "resend-unsent-documents": {
        "task": "scheduling.tasks.resend_unsent_documents",
        "schedule": crontab(minute="*/5"),
    },
    "generate-clinic-sessions": {
        "task": "scheduling.tasks.generate_clinic_sessions",
        "schedule": crontab(hour=2, minute=15),
    },
    "sweep-missed-news2-alerts": {
        "task": "records.tasks.sweep_missed_news2_alerts",
        "schedule": crontab(minute="*/10"),
    },
}
