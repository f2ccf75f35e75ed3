"""Edges a review found in scheduling: dates at the calendar's ends answered, never a 500; a theatre
slot is not bookable as an appointment; adding a theatre case goes through the access door."""

from __future__ import annotations

import pytest
from django.urls import reverse

from records.errors import RecordError
from records.models import Patient
from scheduling.models import SessionKind, TheatreCase
from scheduling.services.appointments import appointment_book
from tests.factories import PatientFactory, UserFactory
from tests.scheduling.test_clinics import generated_session
from tests.support import signed_in


@pytest.mark.parametrize(
    "url",
    [
        "/clinics/lists/?day=9999-12-31",
        "/clinics/lists/?day=0001-01-01",
        "/clinics/slots/?date_to=9999-12-31",
        "/clinics/slots/?date_from=9999-12-31",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_answered(clerk, url):
    assert signed_in(clerk).get(url).status_code in (200, 400)


def test_occupancy_at_the_end_of_the_calendar_is_answered(manager):
    response = signed_in(manager).get("/bed-board/occupancy/", {"start": "9999-12-31", "end": "9999-12-31"})
    assert response.status_code in (200, 400)


def test_a_theatre_slot_cannot_be_booked_as_an_appointment(clerk):
    surgeon = UserFactory(role="doctor")
    session = generated_session(surgeon, code="THEA1", kind=SessionKind.THEATRE)
    slot = session.slots.order_by("starts_at").first()
    assert slot is not None  # generated_session lays four slots
    with pytest.raises(RecordError, match="theatre session"):
        appointment_book(by=clerk, patient=PatientFactory(), slot=slot)


def test_a_case_for_a_patient_the_clinician_may_not_see_is_not_added(db):
    surgeon = UserFactory(role="doctor")
    session = generated_session(surgeon, code="THEA2", kind=SessionKind.THEATRE)
    stranger: Patient = PatientFactory()
    url = reverse("scheduling:theatre_case_add", args=[session.pk])
    client = signed_in(surgeon)
    client.post(
        url,
        {"hospital_number": stranger.hospital_number, "procedure": "Hernia repair", "expected_minutes": 60},
    )
    assert not TheatreCase.objects.filter(patient=stranger).exists()
