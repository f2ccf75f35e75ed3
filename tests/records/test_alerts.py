"""Alerts as a ward uses them: one per patient and condition, urgent first, answered with a recorded
response, reviewed, resolved by observations, and addressed only to the roles that act on them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from epr.accounts.roles import Role
from records import services
from records.errors import RecordError
from records.models import AlertEvent, AlertStatus, AlertTrigger, ClinicalAlert
from records.registries.alerts import (
    AlertKindSpec,
    _kinds,
    alert_kind,
    kinds_acted_on_by,
    register_alert_kind,
)
from records.rules import alerts as alert_rules
from records.selectors import alerts as alert_selectors
from records.selectors import patients as selectors
from tests.factories import BedFactory, PatientFactory, UserFactory
from tests.records.support import record, respond
from tests.support import login
from tests.vitals import FIVE, NINE, NORMAL, RED_SCORE, TWO

# Rules -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "rose"),
    [
        ("low-medium", "medium", True),
        ("medium", "high", True),
        ("medium", "medium", False),
        ("high", "medium", False),
        ("", "low-medium", True),
        ("high", "high", False),
    ],
)
def test_a_rise_is_a_higher_risk_band(before, after, rose):
    assert alert_rules.risk_rose(before, after) is rose


def test_a_news2_response_names_who_when_and_what():
    now = timezone.now()
    missing = alert_rules.check_response(required=True, informed=" ", informed_at=None, outcome="", now=now)
    assert set(missing.errors) == {"informed", "informed_at", "outcome"}
    future = alert_rules.check_response(
        required=True, informed="Dr K", informed_at=now + timedelta(minutes=1), outcome="reviewed", now=now
    )
    assert future.errors == {"informed_at": "The time you informed them cannot be in the future"}
    assert not alert_rules.check_response(required=False, informed="", informed_at=None, outcome="", now=now)


def test_pharmacists_and_hcas_do_not_act_on_news2_escalations():
    # Other apps register kinds through the same registry (prescribing's medicines_check and
    # abx_review, orders' result kinds); records' own keep their order among them.
    def own(role):
        return [k for k in kinds_acted_on_by(role) if k in ("news2", "obs_overdue")]

    assert own("nurse") == ["news2", "obs_overdue"]
    assert own("doctor") == ["news2"]
    assert {"medicines_check", "result_critical"} <= set(kinds_acted_on_by("nurse"))
    assert kinds_acted_on_by("hca") == ["obs_overdue"]
    assert "news2" not in kinds_acted_on_by("pharmacist")
    assert alert_kind("news2").response_required and not alert_kind("obs_overdue").response_required


def test_an_alert_of_a_kind_nobody_registered_is_refused(admitted):
    with pytest.raises(LookupError, match="No alert kind 'nonsense' is registered"):
        services.alert_raise(
            key="t:1",
            patient_id=admitted.patient_id,
            kind="nonsense",
            severity="alert",
            message="x",
            encounter=admitted,
        )


def test_another_app_can_register_a_kind_and_raise_it_once_by_key(admitted, nurse, doctor):
    """What orders will do for an abnormal result: register a kind, raise it, and a retry changes nothing."""

    register_alert_kind(AlertKindSpec("test_result", "Abnormal result", frozenset({"doctor"}), order=30))
    try:
        first = services.alert_raise(
            key="result:42",
            patient_id=admitted.patient_id,
            kind="test_result",
            severity="urgent",
            message="Potassium 6.8 mmol/L",
            encounter=admitted,
        )
        again = services.alert_raise(
            key="result:42",
            patient_id=admitted.patient_id,
            kind="test_result",
            severity="urgent",
            message="Potassium 6.8 mmol/L",
            encounter=admitted,
        )
        assert first is not None and again is None
        assert list(alert_selectors.alerts_for_user(doctor)) == [first]
        assert list(alert_selectors.alerts_for_user(nurse)) == []  # not a kind the nurse's role acts on
    finally:
        _kinds.pop("test_result")


# One alert per patient and condition ------------------------------------------------------------------


def test_new_sets_update_the_open_alert_instead_of_stacking(admitted, colleague):
    for _ in range(4):
        record(admitted.patient, colleague, FIVE)
    alert = ClinicalAlert.objects.get()
    assert alert.score == 5 and alert.status == AlertStatus.OPEN
    assert AlertTrigger.objects.filter(alert=alert).count() == 4  # every score kept
    assert list(alert.events.values_list("action", flat=True)) == ["rescored"] * 3


def test_a_rise_in_severity_needs_a_new_response(admitted, colleague, nurse):
    record(admitted.patient, colleague, FIVE)
    alert = ClinicalAlert.objects.get()
    respond(alert, nurse, outcome="review_requested")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ESCALATED
    record(admitted.patient, colleague, NINE)
    alert.refresh_from_db()
    assert ClinicalAlert.objects.count() == 1
    assert (alert.score, alert.severity, alert.status) == (9, "urgent", AlertStatus.OPEN)
    assert alert.events.filter(action="re_escalated").exists()
    assert alert.emailed_at is None  # sent again


def test_a_lower_score_updates_the_alert_but_keeps_it_waiting(admitted, colleague):
    record(admitted.patient, colleague, NINE)
    record(admitted.patient, colleague, TWO)  # scores, does not escalate
    alert = ClinicalAlert.objects.get()
    assert alert.score == 2 and alert.severity == "urgent" and alert.status == AlertStatus.OPEN


def test_an_answered_alert_is_followed_by_a_new_one(admitted, colleague, nurse):
    record(admitted.patient, colleague, FIVE)
    respond(ClinicalAlert.objects.get(), nurse)
    record(admitted.patient, colleague, FIVE)
    assert ClinicalAlert.objects.filter(status=AlertStatus.OPEN).count() == 1
    assert ClinicalAlert.objects.count() == 2


def test_the_database_refuses_two_active_alerts_of_one_kind(admitted, colleague):
    record(admitted.patient, colleague, FIVE)
    first = ClinicalAlert.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicalAlert.objects.create(
            key="x",
            patient=first.patient,
            kind="news2",
            severity="alert",
            message="m",
            raised_at=timezone.now(),
        )


def test_a_retried_trigger_changes_nothing(admitted, colleague):
    obs = record(admitted.patient, colleague, FIVE)
    assert services.alert_raise_for_set(obs=obs) is None
    assert AlertTrigger.objects.count() == 1
    assert services.alert_for_set(obs) == ClinicalAlert.objects.get()


# Responses and reviews ---------------------------------------------------------------------------------


def test_an_urgent_alert_cannot_be_acknowledged_without_a_response(admitted, colleague, nurse):
    record(admitted.patient, colleague, NINE)
    alert = ClinicalAlert.objects.get()
    with pytest.raises(RecordError) as refused:
        services.alert_acknowledge(alert=alert, user=nurse, note="Seen")
    assert set(refused.value.errors) == {"informed", "informed_at", "outcome"}
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and not alert.events.exists()


def test_review_requested_stays_visible_until_the_review_is_recorded(admitted, colleague, nurse, doctor):
    record(admitted.patient, colleague, NINE)
    alert = respond(ClinicalAlert.objects.get(), nurse, outcome="review_requested")
    assert alert in alert_selectors.alerts_for_user(doctor)
    with pytest.raises(RecordError, match="outcome of the review"):
        services.alert_record_review(
            alert=alert, user=doctor, reviewed_by="Dr Dee", reviewed_at=timezone.now(), note=""
        )
    services.alert_record_review(
        alert=alert, user=doctor, reviewed_by="Dr Dee", reviewed_at=timezone.now(), note="Sepsis six; HDU"
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.REVIEWED
    assert alert not in alert_selectors.alerts_for_user(doctor)
    actions = list(alert.events.values_list("action", flat=True))
    assert actions == ["escalated", "reviewed"]


def test_recording_observations_resolves_the_overdue_alert(admitted, colleague):
    assert services.raise_overdue_observation_alerts(now=admitted.admitted_at + timedelta(minutes=61)) == 1
    overdue = ClinicalAlert.objects.get(kind="obs_overdue")
    record(admitted.patient, colleague, NORMAL)
    overdue.refresh_from_db()
    assert overdue.status == AlertStatus.RESOLVED
    assert overdue.events.get().action == "resolved"


def test_overdue_stays_one_alert_while_it_waits(admitted):
    later = admitted.admitted_at + timedelta(minutes=61)
    assert services.raise_overdue_observation_alerts(now=later) == 1
    assert services.raise_overdue_observation_alerts(now=later + timedelta(hours=5)) == 0
    assert ClinicalAlert.objects.count() == 1


# Who sees them, in what order ----------------------------------------------------------------------------


def test_a_pharmacist_on_the_ward_gets_no_news2_escalations(admitted, colleague, ward, pharmacist, nurse):
    services.ward_add_staff(ward=ward, users=[pharmacist])
    record(admitted.patient, colleague, NINE)
    assert not alert_selectors.alerts_for_user(pharmacist).exists()
    assert alert_selectors.alerts_for_user(nurse).exists()


def test_urgent_first_then_longest_waiting(admitted, colleague, nurse, ward):
    second = PatientFactory(family_name="Jones")
    third = PatientFactory(family_name="Brown")
    for p in (second, third):
        services.encounter_admit(
            admitted_by=nurse,
            patient=p,
            ward=ward,
            bed=BedFactory(bay__ward=ward),
            consultant=admitted.consultant,
            team=admitted.team,
            specialty="300",
            admission_method="21",
        )
    record(second, colleague, RED_SCORE)  # oldest, but not urgent
    record(admitted.patient, colleague, FIVE)
    record(third, colleague, NINE)  # newest, urgent
    order = [a.patient.family_name for a in alert_selectors.alerts_for_user(nurse)]
    assert order == ["Brown", "Jones", admitted.patient.family_name]
    assert alert_selectors.alert_counts(nurse) == {"urgent": 1, "alert": 2, "total": 3}


# Pages ---------------------------------------------------------------------------------------------------


def test_alerts_page_is_a_triage_table_and_the_menu_counts_by_severity(client, admitted, colleague, nurse):
    record(admitted.patient, colleague, NINE)
    page = login(client, nurse).get(reverse("records:alert_list")).content.decode()
    assert 'data-testid="alert-row" data-severity="urgent"' in page
    assert "NEWS2 9" in page and "Respond" in page and "Bay A" in page
    assert 'data-testid="alerts-urgent">1 urgent' in page


def test_the_response_page_refuses_an_empty_response_with_specific_errors(client, admitted, colleague, nurse):
    record(admitted.patient, colleague, NINE)
    alert = ClinicalAlert.objects.get()
    url = reverse("records:alert_respond", args=[alert.pk])
    response = login(client, nurse).post(url, {"informed": "", "informed_at": "", "note": "seen"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter the name of the clinician or team you informed" in body
    assert "Select what happened" in body
    assert "<title>Error:" in body
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_the_response_page_records_the_response(client, admitted, colleague, nurse):
    record(admitted.patient, colleague, NINE)
    alert = ClinicalAlert.objects.get()
    informed_at = timezone.localtime() - timedelta(minutes=5)
    response = login(client, nurse).post(
        reverse("records:alert_respond", args=[alert.pk]),
        {
            "informed": "Dr Khan (SpR)",
            "informed_at": informed_at.strftime("%Y-%m-%dT%H:%M"),
            "outcome": "review_requested",
        },
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.informed, alert.acknowledged_by) == (
        AlertStatus.ESCALATED,
        "Dr Khan (SpR)",
        nurse,
    )
    page = client.get(reverse("records:alert_list")).content.decode()
    assert "Review by Dr Khan (SpR)" in page and "Record review" in page


def test_an_alert_for_another_ward_cannot_be_answered(client, admitted, colleague, outsider):
    record(admitted.patient, colleague, RED_SCORE)
    alert = ClinicalAlert.objects.get()
    response = login(client, outsider).post(
        reverse("records:alert_respond", args=[alert.pk]),
        {"informed": "x", "informed_at": "2026-01-01T10:00", "outcome": "reviewed"},
    )
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_an_hca_may_see_an_overdue_alert_but_not_answer_a_news2_one(client, admitted, colleague):
    record(admitted.patient, colleague, NINE)
    alert = ClinicalAlert.objects.get()
    response = login(client, colleague).post(reverse("records:alert_respond", args=[alert.pk]), {})
    assert response.status_code == 403


def test_every_showing_and_answer_of_an_alert_is_kept(client, admitted, colleague, nurse):
    record(admitted.patient, colleague, RED_SCORE)
    alert = ClinicalAlert.objects.get()
    login(client, nurse).get(reverse("records:alert_list"))
    client.post(
        reverse("records:alert_respond", args=[alert.pk]),
        {
            "informed": "Dr Khan",
            "informed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "outcome": "reviewed",
        },
    )
    events = list(AlertEvent.objects.filter(alert=alert).values_list("action", "user__username"))
    assert events == [("shown", "alice"), ("acknowledged", "alice")]


def test_alert_list_keeps_queries_flat(
    client, admitted, colleague, nurse, ward, django_assert_max_num_queries
):
    def raise_alerts(count):
        for _ in range(count):
            patient = PatientFactory()
            services.encounter_admit(
                admitted_by=nurse,
                patient=patient,
                ward=ward,
                bed=BedFactory(bay__ward=ward),
                consultant=admitted.consultant,
                team=admitted.team,
                specialty="300",
                admission_method="21",
            )
            record(patient, colleague, RED_SCORE)

    login(client, nurse)
    raise_alerts(2)
    with django_assert_max_num_queries(15):
        client.get(reverse("records:alert_list"))
    raise_alerts(12)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("records:alert_list"))
    assert response.content.count(b'data-testid="alert-row"') == 14


def test_the_response_page_keeps_queries_flat(
    client, admitted, colleague, nurse, django_assert_max_num_queries
):
    for _ in range(2):
        record(admitted.patient, colleague, FIVE)
    alert = ClinicalAlert.objects.get()
    login(client, nurse)
    with django_assert_max_num_queries(22):
        client.get(reverse("records:alert_respond", args=[alert.pk]))
    for _ in range(10):
        record(admitted.patient, colleague, FIVE)
    with django_assert_max_num_queries(22):
        assert client.get(reverse("records:alert_respond", args=[alert.pk])).status_code == 200


def test_after_recording_a_high_set_the_nurse_is_told_who_was_alerted(
    client, admitted, colleague, django_capture_on_commit_callbacks
):
    form = {
        "respiration_rate": "22",
        "spo2": "97",
        "on_oxygen": "oxygen",
        "systolic_bp": "100",
        "pulse": "115",
        "consciousness": "A",
        "temperature": "38.5",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, colleague).post(
            reverse("records:observations_record", args=[admitted.patient_id]), form, follow=True
        )
    assert b"Alert sent to Ward 7 and Dr Dee&#x27;s firm." in response.content


def test_two_sets_raising_at_once_make_one_alert_and_two_triggers(transactional_db, admitted, colleague):
    """Two workers raise for two high sets of one patient at the same moment, on two real connections."""

    sets = [
        services.observation_set_record(
            recorded_by=colleague,
            patient=admitted.patient,
            taken_at=timezone.now() - timedelta(minutes=m),
            **FIVE,
        )
        for m in (2, 1)
    ]
    # With eager Celery the sets' own tasks already raised the alert: start again from none.
    AlertEvent.objects.all().delete()
    AlertTrigger.objects.all().delete()
    ClinicalAlert.objects.all().delete()
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def raise_for(obs):
        try:
            barrier.wait()
            services.alert_raise_for_set(obs=obs)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=raise_for, args=(obs,)) for obs in sets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ClinicalAlert.objects.filter(patient=admitted.patient, kind="news2").count() == 1
    assert AlertTrigger.objects.count() == 2


def test_merging_two_records_with_open_alerts_keeps_one_active(admitted, colleague, admin_user):
    duplicate = PatientFactory(family_name=admitted.patient.family_name, nhs_number="")
    services.observation_set_record(recorded_by=colleague, patient=duplicate, **FIVE)
    services.alert_raise(
        key="test:dup",
        patient_id=duplicate.pk,
        kind="news2",
        severity="alert",
        message="NEWS2 5",
        encounter=None,
        score=5,
        risk="medium",
    )
    record(admitted.patient, colleague, NINE)
    services.patients_merge(
        merged_by=admin_user, survivor=admitted.patient, duplicate=duplicate, reason="Same person"
    )
    active = ClinicalAlert.objects.filter(patient=admitted.patient, status__in=["open", "escalated"])
    assert [a.score for a in active] == [9]
    assert ClinicalAlert.objects.get(key="test:dup").status == AlertStatus.SUPERSEDED


def test_a_partial_set_does_not_restart_the_overdue_clock(admitted, colleague):
    taken = timezone.now() - timedelta(hours=2)
    record(admitted.patient, colleague, {**NORMAL, "consciousness": "C"}, taken_at=taken)  # hourly
    services.observation_set_record(recorded_by=colleague, patient=admitted.patient, systolic_bp=120)
    assert services.raise_overdue_observation_alerts() == 1


def test_an_alert_for_a_patient_not_admitted_goes_to_the_fallback_team(patient, colleague, doctor):

    outreach_nurse = UserFactory(username="olive", role=Role.NURSE)
    services.team_create(
        name="Critical care outreach", specialty="300", consultant=doctor, members=[outreach_nurse]
    )
    record(patient, colleague, NINE)
    alert = ClinicalAlert.objects.get()
    assert [g.name for g in alert.recipients.all()] == ["team:Critical care outreach"]
    assert alert in alert_selectors.alerts_for_user(outreach_nurse)
    opened = selectors.patient_for_user(outreach_nurse, patient.pk)
    assert opened.access.clinical
    assert services.recipients_described(None) == "Critical care outreach"
