"""Observation pages: who may record, the chart's query count, alerts seen and acknowledged."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from records import services
from records.models import ClinicalAlert, ObservationSet
from tests.records.test_pages import login

FORM_SEVEN = {
    "respiration_rate": "22",
    "spo2": "97",
    "on_oxygen": "oxygen",
    "oxygen_device": "nasal",
    "oxygen_flow": "2",
    "systolic_bp": "125",
    "diastolic_bp": "80",
    "pulse": "115",
    "consciousness": "A",
    "temperature": "38.5",
}


@pytest.mark.parametrize(
    ("who", "status"),
    [("nurse", 302), ("hca", 302), ("outsider", 403), ("clerk", 403), ("pharmacist", 403), ("manager", 403)],
)
def test_who_may_record_observations(
    client, admitted, nurse, colleague, outsider, clerk, pharmacist, manager, who, status
):
    user = {
        "nurse": nurse,
        "hca": colleague,
        "outsider": outsider,
        "clerk": clerk,
        "pharmacist": pharmacist,
        "manager": manager,
    }[who]
    response = login(client, user).post(
        reverse("observations_record", args=[admitted.patient_id]), FORM_SEVEN
    )
    assert response.status_code == status
    assert ObservationSet.objects.count() == (1 if status == 302 else 0)


def test_hca_records_seven_and_nurse_and_doctor_see_and_acknowledge(
    client, admitted, colleague, nurse, doctor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, colleague).post(
            reverse("observations_record", args=[admitted.patient_id]), FORM_SEVEN, follow=True
        )
    assert b"NEWS2 7 (high risk)" in response.content
    alert = ClinicalAlert.objects.get()

    assert admitted.patient.display_name.encode() in login(client, doctor).get(reverse("alert_list")).content
    page = login(client, nurse).get(reverse("alert_list"))
    assert b"Urgent" in page.content
    client.post(reverse("alert_acknowledge", args=[alert.pk]), {"note": "Reg bleeped", "escalated": "on"})
    alert.refresh_from_db()
    assert alert.status == "escalated" and alert.acknowledged_by == nurse


def test_an_alert_for_another_ward_cannot_be_acknowledged(client, admitted, colleague, outsider):
    obs = services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        **{
            "respiration_rate": 30,
            "spo2": 97,
            "on_oxygen": False,
            "systolic_bp": 125,
            "pulse": 72,
            "consciousness": "A",
            "temperature": Decimal("37"),
        },
    )
    alert = services.alert_raise_for_set(obs=obs)
    response = login(client, outsider).post(reverse("alert_acknowledge", args=[alert.pk]), {"note": "x"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_bad_values_show_field_errors_and_save_nothing(client, admitted, nurse):
    response = login(client, nurse).post(
        reverse("observations_record", args=[admitted.patient_id]),
        {**FORM_SEVEN, "spo2": "101", "temperature": "60"},
    )
    assert response.status_code == 200
    assert b"SpO2 must be between 40 and 100" in response.content
    assert b"Temperature must be between" in response.content
    assert ObservationSet.objects.count() == 0


def _sets(patient, user, count):
    start = timezone.now() - timedelta(hours=count + 1)
    for i in range(count):
        services.observation_set_record(
            recorded_by=user,
            patient=patient,
            taken_at=start + timedelta(hours=i),
            respiration_rate=16,
            spo2=97,
            on_oxygen=False,
            systolic_bp=120,
            diastolic_bp=70,
            pulse=70 + i % 40,
            consciousness="A",
            temperature=Decimal("36.9"),
        )


def test_chart_query_count_is_constant(client, admitted, nurse, django_assert_max_num_queries):
    login(client, nurse)
    _sets(admitted.patient, nurse, 3)
    with django_assert_max_num_queries(16):
        assert client.get(reverse("observation_chart", args=[admitted.patient_id])).status_code == 200
    _sets(admitted.patient, nurse, 40)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("observation_chart", args=[admitted.patient_id]))
    assert response.content.count(b'class="epr-chart__time"') == 24
    assert b"Earlier observations" in response.content


def test_every_showing_and_answer_of_an_alert_is_kept(client, admitted, colleague, nurse):
    from records.models import AlertEvent

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
    )
    alert = services.alert_raise_for_set(obs=obs)
    login(client, nurse).get(reverse("alert_list"))
    client.post(reverse("alert_acknowledge", args=[alert.pk]), {"note": "Doctor informed"})
    events = list(AlertEvent.objects.filter(alert=alert).values_list("action", "user__username", "reason"))
    assert events == [("shown", "alice", ""), ("acknowledged", "alice", "Doctor informed")]


def test_alert_list_keeps_queries_flat(client, admitted, colleague, nurse, django_assert_max_num_queries):
    def raise_alerts(count):
        for _ in range(count):
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
            )
            services.alert_raise_for_set(obs=obs)

    login(client, nurse)
    raise_alerts(2)
    with django_assert_max_num_queries(14):
        client.get(reverse("alert_list"))
    raise_alerts(25)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("alert_list"))
    assert response.content.count(b'class="epr-alert epr-alert--') == 27
