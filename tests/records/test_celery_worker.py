"""Alerts through a real Celery worker on the configured broker (Redis in CI, the file broker locally),
not the in-process eager mode the other tests use."""

import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from epr.celery import app
from records import services
from records.models import ClinicalAlert
from records.tasks import raise_news2_alert


@pytest.fixture
def real_worker(settings):
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
def test_a_score_of_seven_reaches_the_alert_list_through_a_worker(admitted, colleague, real_worker):
    services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        respiration_rate=22,
        spo2=97,
        on_oxygen=True,
        oxygen_flow=Decimal("2"),
        systolic_bp=125,
        pulse=115,
        consciousness="A",
        temperature=Decimal("38.5"),
    )  # committed: the after-commit hook sends the task to the broker
    deadline = time.monotonic() + 20
    while not ClinicalAlert.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    alert = ClinicalAlert.objects.get()
    assert alert.severity == "urgent"
    assert alert.recipients.count() == 2


@pytest.mark.django_db(transaction=True)
def test_alert_email_is_sent_once_outside_a_test_transaction(admitted, colleague, settings):

    settings.EPR_ALERT_EMAIL = "outreach@example.nhs.uk"
    obs = services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        respiration_rate=30,
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=Decimal("37"),
    )  # eager: the task ran on commit, in autocommit mode like a worker
    raise_news2_alert.run(obs.pk)  # a retry
    assert len(mail.outbox) == 1
