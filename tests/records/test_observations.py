"""Recording observations: NEWS2 at once, escalation alerts raised once, overdue checks."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from records import services
from records.errors import RecordError
from records.models import AlertEvent, AlertSeverity, AlertStatus, ClinicalAlert, ObservationSet
from records.rules import news2
from records.selectors import alerts as alert_selectors
from records.tasks import check_overdue_observations, raise_news2_alert

NORMAL = {
    "respiration_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 125,
    "diastolic_bp": 80,
    "pulse": 72,
    "consciousness": "A",
    "temperature": Decimal("36.8"),
}
SCORES_SEVEN = {
    **NORMAL,
    "pulse": 115,
    "respiration_rate": 22,
    "on_oxygen": True,
    "oxygen_flow": Decimal("2"),
    "oxygen_device": "nasal",
    "temperature": Decimal("38.5"),
}


def record(patient, user, values, **kwargs):
    return services.observation_set_record(recorded_by=user, patient=patient, **values, **kwargs)


def test_a_complete_set_is_scored_at_once(admitted, colleague):
    obs = record(admitted.patient, colleague, NORMAL)
    assert obs.news2_total == 0
    assert obs.news2_risk == "low"
    assert obs.encounter == admitted


def test_an_incomplete_set_is_kept_but_not_scored(admitted, colleague):
    obs = record(admitted.patient, colleague, {"pulse": 80, "weight": Decimal("72.5")})
    assert obs.news2_total is None


def test_impossible_values_are_refused_and_nothing_is_saved(admitted, colleague):
    with pytest.raises(news2.VitalSignsError) as refused:
        record(admitted.patient, colleague, {**NORMAL, "spo2": 101, "temperature": Decimal("60")})
    assert set(refused.value.errors) == {"spo2", "temperature"}
    assert ObservationSet.objects.count() == 0


def test_scale_two_only_when_a_doctor_sets_it(admitted, colleague, doctor):
    values = {**NORMAL, "spo2": 98, "on_oxygen": True}
    assert record(admitted.patient, colleague, values).news2_scores["spo2"] == 0
    services.spo2_scale_set(set_by=doctor, patient=admitted.patient, scale=2, reason="Type 2 RF on ABG 24/11")
    on_scale_two = record(admitted.patient, colleague, values)
    assert on_scale_two.spo2_scale == 2
    assert on_scale_two.news2_scores["spo2"] == 3


def test_score_of_seven_raises_one_urgent_alert_to_ward_and_team(
    admitted, colleague, ward, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        obs = record(admitted.patient, colleague, SCORES_SEVEN)
    assert obs.news2_total == 7
    alert = ClinicalAlert.objects.get()
    assert alert.severity == AlertSeverity.URGENT
    assert set(alert.recipients.all()) == {ward.staff_group, team.staff_group}

    raise_news2_alert.run(obs.pk)  # a retry or a second delivery
    assert ClinicalAlert.objects.count() == 1


def test_a_red_score_alone_raises_an_alert(admitted, colleague, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record(admitted.patient, colleague, {**NORMAL, "consciousness": "C"})
    assert ClinicalAlert.objects.get().severity == AlertSeverity.ALERT


def test_low_scores_raise_nothing(admitted, colleague, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record(admitted.patient, colleague, {**NORMAL, "pulse": 95})
    assert not ClinicalAlert.objects.exists()


def test_a_lost_task_is_caught_by_the_sweep(admitted, colleague):
    record(admitted.patient, colleague, SCORES_SEVEN)  # on-commit hook never runs: as if the broker lost it
    assert not ClinicalAlert.objects.exists()
    assert services.sweep_missed_news2_alerts() == 1
    assert services.sweep_missed_news2_alerts() == 0


def test_alert_is_emailed_once_where_configured(
    admitted, colleague, settings, django_capture_on_commit_callbacks
):
    settings.EPR_ALERT_EMAIL = "outreach@example.nhs.uk"
    with django_capture_on_commit_callbacks(execute=True):
        obs = record(admitted.patient, colleague, SCORES_SEVEN)
    raise_news2_alert.run(obs.pk)
    assert len(mail.outbox) == 1
    assert admitted.patient.family_name not in mail.outbox[0].body


def test_acknowledge_once_with_the_response_recorded(admitted, colleague, nurse, doctor):
    obs = record(admitted.patient, colleague, SCORES_SEVEN)
    alert = services.alert_raise_for_set(obs=obs)
    with pytest.raises(RecordError, match="clinician or team you informed"):
        services.alert_acknowledge(alert=alert, user=nurse, note="Seen")
    done = services.alert_acknowledge(
        alert=alert,
        user=nurse,
        informed="Registrar Dr Khan",
        informed_at=timezone.now(),
        outcome="review_requested",
    )
    assert done.status == AlertStatus.ESCALATED
    with pytest.raises(RecordError, match="already answered"):
        services.alert_acknowledge(
            alert=alert, user=doctor, informed="x", informed_at=timezone.now(), outcome="reviewed"
        )


def test_overdue_observations_raise_one_alert_per_missed_time(admitted, colleague):
    taken = timezone.now() - timedelta(hours=2)
    record(admitted.patient, colleague, {**NORMAL, "consciousness": "C"}, taken_at=taken)  # hourly now
    assert check_overdue_observations.run() == 1
    assert check_overdue_observations.run() == 0
    record(admitted.patient, colleague, NORMAL)  # back to 12-hourly
    assert check_overdue_observations.run() == 0


def test_no_observations_since_admission_are_overdue_after_an_hour(admitted):
    assert services.raise_overdue_observation_alerts(now=admitted.admitted_at + timedelta(minutes=30)) == 0
    assert services.raise_overdue_observation_alerts(now=admitted.admitted_at + timedelta(minutes=61)) == 1


def test_entered_in_error_keeps_the_set(admitted, colleague, nurse):
    obs = record(admitted.patient, colleague, NORMAL)
    services.observation_set_mark_error(marked_by=nurse, obs=obs, reason="Wrong patient")
    obs.refresh_from_db()
    assert obs.status == "entered-in-error"
    assert obs.history.count() == 2


def test_open_alerts_follow_the_patient_to_a_new_ward(
    admitted, colleague, clerk, other_ward, other_bed, outsider
):

    obs = record(admitted.patient, colleague, SCORES_SEVEN)
    alert = services.alert_raise_for_set(obs=obs)
    services.encounter_transfer(transferred_by=clerk, encounter=admitted, ward=other_ward, bed=other_bed)
    assert alert in alert_selectors.alerts_for_user(outsider)  # a nurse on the receiving ward


def test_alert_is_withdrawn_when_its_set_is_entered_in_error(admitted, colleague, nurse):

    obs = record(admitted.patient, colleague, SCORES_SEVEN)
    alert = services.alert_raise_for_set(obs=obs)
    services.observation_set_mark_error(marked_by=nurse, obs=obs, reason="Wrong patient's observations")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.WITHDRAWN
    assert AlertEvent.objects.get(alert=alert).action == "overridden"
