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
}
