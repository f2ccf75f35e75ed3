"""Observation pages: who may record, the chart's query count, alerts seen and acknowledged."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from records import services
from records.models import ObservationSet
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
    with django_assert_max_num_queries(18):  # with the last scored set and the alerts badge
        assert client.get(reverse("observation_chart", args=[admitted.patient_id])).status_code == 200
    _sets(admitted.patient, nurse, 40)
    with django_assert_max_num_queries(18):  # with the last scored set and the alerts badge
        response = client.get(reverse("observation_chart", args=[admitted.patient_id]))
    assert response.content.count(b'class="epr-chart__time"') == 24
    assert b"Earlier observations" in response.content
