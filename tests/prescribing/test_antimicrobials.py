"""Antimicrobial review (prescribing/rules/antimicrobials.py, services/antimicrobials.py): due from 48
hours, overdue after 72, then by the next review date; the beat task's alert to the team, raised once;
the review's decisions; and what a discharge does to the chart and the discharge summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prescribing.models import AntimicrobialReview, PrescriptionStatus, Setting
from prescribing.rules.antimicrobials import Decision, review_state
from prescribing.selectors.documents import medications_draft
from prescribing.services import antimicrobials
from records import services as records
from records.errors import RecordError
from records.models import AlertStatus, ClinicalAlert
from records.registries.documents import DocumentContext
from tests.factories.prescribing import product
from tests.prescribing.support import prescribe
from tests.support import signed_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("hours", "due"), [(0, False), (47.99, False), (48, True), (72, True), (100, True)])
def test_the_first_review_is_due_from_48_hours(hours, due):
    state = review_state(
        started_at=START, last_review_at=None, next_review_on=None, now=START + timedelta(hours=hours)
    )
    assert state.due is due
    assert state.due_by == START + timedelta(hours=72)
    assert ("overdue" in state.message) is (hours > 72)


def test_after_a_review_the_next_is_due_on_its_date():
    reviewed = START + timedelta(hours=60)
    next_on = (START + timedelta(days=5)).date()
    kwargs = {"started_at": START, "last_review_at": reviewed, "next_review_on": next_on}
    assert not review_state(**kwargs, now=datetime(2026, 3, 6, 23, 59, tzinfo=UTC)).due
    assert review_state(**kwargs, now=datetime(2026, 3, 7, 0, 0, tzinfo=UTC)).due


@pytest.fixture
def doxycycline(db):
    vmp = product("Doxycycline 100mg capsules", "Doxycycline")
    vmp.bnf_code = "5.1.3"
    vmp.save()
    return vmp


@pytest.fixture
def course(admitted, doctor, doxycycline):
    return prescribe(
        doctor,
        admitted.patient,
        doxycycline,
        dose_value=Decimal("100"),
        times_of_day=["08:00"],
        indication="Cellulitis",
        encounter=admitted,
        starts_at=timezone.now() - timedelta(hours=50),
    )


def test_an_antimicrobial_needs_its_indication_and_a_review_or_stop_date(admitted, doctor, doxycycline):
    with pytest.raises(RecordError) as refused:
        prescribe(
            doctor, admitted.patient, doxycycline, indication="", review_on=None, dose_value=Decimal("100")
        )
    assert set(refused.value.errors) == {"indication", "review_on"}


def test_the_task_alerts_the_team_once_for_a_course_past_48_hours(course):
    assert antimicrobials.raise_review_alerts() == 1
    assert antimicrobials.raise_review_alerts() == 0
    alert = ClinicalAlert.objects.get(kind=antimicrobials.ALERT_KIND)
    assert "Doxycycline 100mg capsules" in alert.message and alert.recipients.exists()


def test_no_alert_before_48_hours(admitted, doctor, doxycycline):
    prescribe(
        doctor,
        admitted.patient,
        doxycycline,
        dose_value=Decimal("100"),
        indication="Cellulitis",
        starts_at=timezone.now() - timedelta(hours=47),
    )
    assert antimicrobials.raise_review_alerts() == 0


def test_stopping_at_review_stops_the_prescription_and_answers_the_alert(course, doctor):
    antimicrobials.raise_review_alerts()
    antimicrobials.antimicrobial_review_record(
        reviewed_by=doctor, prescription=course, decision=Decision.STOP, note="Cultures negative"
    )
    course.refresh_from_db()
    assert course.status == PrescriptionStatus.STOPPED
    assert course.stop_reason == "Antimicrobial review: Stop. Cultures negative"
    assert ClinicalAlert.objects.get(kind=antimicrobials.ALERT_KIND).status == AlertStatus.ACKNOWLEDGED


def test_continuing_needs_a_later_review_date_and_moves_the_review(course, doctor):
    with pytest.raises(RecordError, match="date of the next review"):
        antimicrobials.antimicrobial_review_record(
            reviewed_by=doctor, prescription=course, decision=Decision.CONTINUE
        )
    with pytest.raises(RecordError, match="after today"):
        antimicrobials.antimicrobial_review_record(
            reviewed_by=doctor,
            prescription=course,
            decision=Decision.CONTINUE,
            next_review_on=timezone.localdate(),
        )
    later = timezone.localdate() + timedelta(days=3)
    antimicrobials.antimicrobial_review_record(
        reviewed_by=doctor, prescription=course, decision=Decision.CONTINUE, next_review_on=later
    )
    course.refresh_from_db()
    assert course.status == PrescriptionStatus.ACTIVE and course.review_on == later
    assert antimicrobials.raise_review_alerts() == 0  # reviewed: nothing due until the new date


def test_the_chart_shows_the_review_due_and_a_doctor_records_it(course, doctor, nurse):
    chart = reverse("prescribing:drug_chart", args=[course.patient_id])
    assert b"Antimicrobial review due" in signed_in(nurse).get(chart).content
    url = reverse("prescribing:antimicrobial_review", args=[course.patient_id, course.pk])
    assert signed_in(nurse).post(url, {"decision": "stop", "version": course.version}).status_code == 403
    signed_in(doctor).post(url, {"decision": "iv-to-oral", "version": course.version})
    assert AntimicrobialReview.objects.get().decision == "iv-to-oral"
    assert b"Antimicrobial review: Switch from IV to oral" in signed_in(nurse).get(chart).content


def test_discharge_stops_the_inpatient_chart_and_the_summary_lists_what_goes_home(
    course, admitted, doctor, clerk, django_capture_on_commit_callbacks
):
    home = prescribe(
        doctor,
        admitted.patient,
        product("Omeprazole 20mg gastro-resistant capsules", "Omeprazole"),
        dose_value=Decimal("20"),
        times_of_day=["08:00"],
        setting=Setting.DISCHARGE,
    )
    with django_capture_on_commit_callbacks(execute=True):
        records.encounter_discharge(discharged_by=clerk, encounter=admitted, destination="19")
    course.refresh_from_db()
    home.refresh_from_db()
    assert course.status == PrescriptionStatus.STOPPED and course.stop_reason == "Patient discharged"
    assert home.status == PrescriptionStatus.ACTIVE
    draft = medications_draft(DocumentContext(patient=admitted.patient, encounter=admitted, author=doctor))
    assert draft.lines == ("Omeprazole 20mg gastro-resistant capsules: 20 mg oral at 08:00, for Pain",)
