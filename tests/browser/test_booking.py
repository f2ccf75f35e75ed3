"""Booking in a real browser: a booking clerk finds a free follow-up slot from the patient's
appointments, books it with a note and downloads the letter (a PDF); the clinic staff's list shows
the patient. Changing an appointment's note changes the note and nothing else."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse
from playwright.sync_api import expect

from scheduling.models import Appointment, AppointmentStatus, SlotStatus
from scheduling.services.appointments import appointment_book
from tests.factories import UserFactory
from tests.scheduling.test_clinics import generated_session

pytestmark = pytest.mark.browser


def _consultant():
    return UserFactory(username="ross", role="doctor", first_name="Hannah", last_name="Ross")


def test_a_clerk_books_a_follow_up_and_downloads_the_letter(
    transactional_db, live_server, log_in, axe, clerk, patient
):
    session = generated_session(_consultant())
    page = log_in(clerk.username)
    page.goto(reverse("scheduling:patient_appointments", args=[patient.pk]))
    expect(page.get_by_test_id("no-appointments")).to_be_visible()
    axe(page, context="a patient's appointments, none yet")
    page.get_by_test_id("book-appointment").click()
    page.get_by_label("Type of appointment").select_option("follow-up")
    page.get_by_test_id("search-slots").click()
    expect(page.get_by_test_id("free-slot")).to_have_count(4)
    axe(page, context="free slots for the patient")
    page.get_by_test_id("book-slot").first.click()
    expect(page.get_by_test_id("slot-summary")).to_contain_text("Clinic CARD1")
    axe(page, context="check and book")
    page.get_by_label("Note for the clinic and the letter").fill("Bring your home blood pressure readings")
    page.get_by_test_id("confirm-booking").click()
    expect(page.get_by_text("Appointment booked.")).to_be_visible()
    expect(page.get_by_test_id("appointment-status")).to_have_text("Booked")
    axe(page, context="the booked appointment")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-letter").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as letter:
        assert letter.read(5) == b"%PDF-"
    appointment = Appointment.objects.get()
    assert appointment.patient == patient and appointment.slot.session == session
    assert appointment.notes == "Bring your home blood pressure readings"
    assert appointment.slot.status == SlotStatus.BOOKED
    page.goto(reverse("scheduling:session_detail", args=[session.pk]))
    expect(page.get_by_test_id("clinic-row").first).to_contain_text(patient.family_name.upper())
    axe(page, context="the session's clinic list")


def test_changing_the_note_changes_nothing_else(transactional_db, live_server, log_in, axe, clerk, patient):
    session = generated_session(_consultant())
    booked = appointment_book(
        by=clerk,
        patient=patient,
        slot=session.slots.order_by("starts_at").first(),
        notes="Needs a wheelchair",
    )
    before = model_to_dict(Appointment.objects.get(pk=booked.pk))
    page = log_in(clerk.username)
    page.goto(reverse("scheduling:appointment_detail", args=[patient.pk, booked.pk]))
    page.get_by_test_id("change-note").click()
    note = page.get_by_label("Note")
    expect(note).to_have_value("Needs a wheelchair")
    axe(page, context="change an appointment's note")
    note.fill("Needs a wheelchair and an interpreter (Polish)")
    page.get_by_test_id("save").click()
    expect(page.get_by_text("Note saved.")).to_be_visible()
    expect(page.get_by_test_id("appointment-note")).to_have_text(
        "Needs a wheelchair and an interpreter (Polish)"
    )
    after = model_to_dict(Appointment.objects.get(pk=booked.pk))
    assert after.pop("notes") == "Needs a wheelchair and an interpreter (Polish)"
    assert after.pop("version") == before.pop("version") + 1
    before.pop("notes")
    assert after == before and after["status"] == AppointmentStatus.BOOKED
