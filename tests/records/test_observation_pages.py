"""Observation pages: who may record, the chart's query count, alerts seen and acknowledged."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from records import services
from records.models import ObservationSet
from tests.support import login

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
        reverse("records:observations_record", args=[admitted.patient_id]), FORM_SEVEN
    )
    assert response.status_code == status
    assert ObservationSet.objects.count() == (1 if status == 302 else 0)


def test_bad_values_show_field_errors_and_save_nothing(client, admitted, nurse):
    response = login(client, nurse).post(
        reverse("records:observations_record", args=[admitted.patient_id]),
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
    with django_assert_max_num_queries(21):  # with the last scored set, alerts badge and clinical banner
        assert client.get(reverse("records:observation_chart", args=[admitted.patient_id])).status_code == 200
    _sets(admitted.patient, nurse, 40)
    with django_assert_max_num_queries(21):  # with the last scored set, alerts badge and clinical banner
        response = client.get(reverse("records:observation_chart", args=[admitted.patient_id]))
    assert response.content.count(b'class="epr-chart__time"') == 24
    assert b"Earlier observations" in response.content


def test_an_incomplete_set_is_saved_with_an_amber_warning_naming_what_is_missing(client, admitted, nurse):
    url = reverse("records:observations_record", args=[admitted.patient_id])
    login(client, nurse).post(url, FORM_SEVEN, follow=True)
    # Consciousness left "Not recorded" on the form is a missing value, not an invalid one.
    response = client.post(url, {"pulse": "88", "on_oxygen": "air", "consciousness": ""}, follow=True)

    [message] = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert str(message) == (
        "Observations saved. NEWS2 not scored: the set has no respiration rate, SpO2, systolic BP, "
        "consciousness or temperature."
    )
    complete, incomplete = ObservationSet.objects.order_by("taken_at", "pk")
    assert incomplete.news2_total is None
    # The chart keeps showing the last complete score, with the frequency it set.
    assert response.context["scored"] == complete
    assert response.context["latest"].total == 7
    assert response.context["latest_unscored"] == incomplete
    assert response.context["unscored_missing"] == (
        "respiration rate, SpO2, systolic BP, consciousness or temperature"
    )
    assert b"Latest NEWS2 7" in response.content
    assert b"Continuous monitoring of vital signs" in response.content
    assert response.content.count(b'class="epr-chart__unscored"') == 1
    assert b'<td class="epr-chart__unscored-total">Not scored</td>' in response.content
    due = response.context["due"]
    assert not due.overdue and due.detail.startswith("Last complete observations")
    assert due.detail.endswith("due every 30 minutes.")


def test_the_chart_says_when_observations_are_overdue(client, admitted, nurse):
    services.observation_set_record(
        recorded_by=nurse,
        patient=admitted.patient,
        taken_at=timezone.now() - timedelta(days=2),
        respiration_rate=30,  # a red score: hourly
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=Decimal("37"),
    )
    response = login(client, nurse).get(reverse("records:observation_chart", args=[admitted.patient_id]))
    due = response.context["due"]
    assert due.overdue
    assert due.headline == "Observations overdue by 1 day 23 hours"
    assert due.detail.startswith("Last observations 2 days ago; due every hour (due ")
    assert b"Observations overdue by 1 day 23 hours" in response.content


def test_paging_back_shows_no_due_line(client, admitted, nurse):
    _sets(admitted.patient, nurse, 3)
    before = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = login(client, nurse).get(
        reverse("records:observation_chart", args=[admitted.patient_id]), {"before": before}
    )
    assert response.context["due"] is None
    assert response.context["latest"].total == 0  # the latest score still shows


def test_chart_queries_stay_flat_with_unscored_sets_and_gaps(
    client, admitted, nurse, django_assert_max_num_queries
):
    login(client, nurse)
    for days in (9, 5, 2):
        services.observation_set_record(
            recorded_by=nurse,
            patient=admitted.patient,
            taken_at=timezone.now() - timedelta(days=days),
            pulse=80,
        )
    _sets(admitted.patient, nurse, 3)
    with django_assert_max_num_queries(21):
        response = client.get(reverse("records:observation_chart", args=[admitted.patient_id]))
    gaps = response.content.count(b'<th scope="col" class="epr-chart__gap">')
    assert gaps == 3  # 9 to 5 days ago, 5 to 2, and 2 days to the hourly sets
    assert b"No observations for 4 days</th>" in response.content
    assert response.content.count(b'class="epr-chart__unscored"') == 3
    assert response.context["latest"].total == 0
    _sets(admitted.patient, nurse, 30)
    with django_assert_max_num_queries(21):
        client.get(reverse("records:observation_chart", args=[admitted.patient_id]))


def test_before_any_complete_set_the_first_complete_observations_are_due_from_admission(
    client, admitted, nurse
):
    # The overdue alert reckons from the admission until a set is scored; the chart says the same.
    services.observation_set_record(recorded_by=nurse, patient=admitted.patient, pulse=80)
    response = login(client, nurse).get(reverse("records:observation_chart", args=[admitted.patient_id]))
    due = response.context["due"]
    assert due.headline.startswith("First complete observations due ")
    assert response.context["latest"] is None
    assert b"No NEWS2 score yet" in response.content
