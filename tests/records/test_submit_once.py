"""A form that records a clinical event saves it once, however often it is posted (issue 7, item 10)."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.urls import reverse

from records import services
from records.errors import AlreadySubmitted
from records.models import ClinicalAlert, ObservationSet
from tests.records.support import OBSERVATION_FORM
from tests.support import login
from tests.vitals import NINE, NORMAL


def test_the_form_carries_a_one_time_token(client, admitted, nurse):
    page = (
        login(client, nurse)
        .get(reverse("records:observations_record", args=[admitted.patient_id]))
        .content.decode()
    )
    token = re.search(r'name="submission" value="([0-9a-f]{32})"', page)
    assert token is not None
    again = client.get(reverse("records:observations_record", args=[admitted.patient_id])).content.decode()
    assert token.group(1) not in again  # a new form, a new token


def test_posting_the_same_form_twice_saves_one_set_and_says_so(client, admitted, nurse):
    url = reverse("records:observations_record", args=[admitted.patient_id])
    login(client, nurse)
    first = client.post(url, {**OBSERVATION_FORM, "submission": "a" * 32})
    second = client.post(url, {**OBSERVATION_FORM, "submission": "a" * 32}, follow=True)
    assert first.status_code == 302
    assert ObservationSet.objects.count() == 1
    assert b"were already saved at" in second.content and b"not saved twice" in second.content


def test_two_different_forms_save_two_sets(client, admitted, nurse):
    url = reverse("records:observations_record", args=[admitted.patient_id])
    login(client, nurse)
    client.post(url, {**OBSERVATION_FORM, "submission": "a" * 32})
    client.post(url, {**OBSERVATION_FORM, "submission": "b" * 32})
    assert ObservationSet.objects.count() == 2


@pytest.mark.parametrize("posts", [2, 5])
def test_the_same_form_posted_at_once_saves_one_set_and_one_alert(
    transactional_db, admitted, colleague, posts
):
    barrier = threading.Barrier(posts)
    outcomes: list[str] = []

    def post() -> None:
        try:
            barrier.wait()
            services.observation_set_record(
                recorded_by=colleague, patient=admitted.patient, submission_key="c" * 32, **NINE
            )
            outcomes.append("saved")
        except AlreadySubmitted:
            outcomes.append("repeat")
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["repeat"] * (posts - 1) + ["saved"]
    assert ObservationSet.objects.count() == 1
    assert ClinicalAlert.objects.filter(kind="news2").count() == 1


def test_sets_without_a_token_are_not_refused(admitted, colleague):
    for _ in range(2):
        services.observation_set_record(recorded_by=colleague, patient=admitted.patient, **NORMAL)
    assert ObservationSet.objects.count() == 2
