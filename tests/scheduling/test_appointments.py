"""Booking through the services and pages: a slot holds one appointment (even with two clerks at
once, on real connections), moving keeps where it came from, cancelling says who asked and why,
attendances are recorded in order with who and when, the clinic staff's care relationship lasts as
long as the appointment, the letter is a PDF with what the patient needs, and the slot search's
queries do not grow with the number of slots."""

from __future__ import annotations

import subprocess
import threading
from datetime import time, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records.access import has_care_relationship
from records.errors import RecordError, StaleEdit
from records.models import CareRelationship
from records.services.access import withdraw_ended_care_relationships
from scheduling.letters import appointment_letter_pdf
from scheduling.models import Appointment, AppointmentStatus, CancelledBy, Slot, SlotStatus
from scheduling.selectors import clinics as selectors
from scheduling.services import appointments as services
from scheduling.services.appointments import SLOT_TAKEN
from tests.factories import PatientFactory
from tests.scheduling import test_clinics
from tests.scheduling.test_clinics import generated_session
from tests.support import require_tool, signed_in

# The clinic fixtures, shared with the clinics' tests.
consultant = test_clinics.consultant
session = test_clinics.session


def first_slot(session) -> Slot:
    return session.slots.order_by("starts_at").first()


def book(clerk, patient, slot, **kw) -> Appointment:
    return services.appointment_book(by=clerk, patient=patient, slot=slot, **kw)


def test_booking_takes_the_slot_and_is_audited(session, clerk, patient):
    slot = first_slot(session)
    appointment = book(clerk, patient, slot, notes="Needs an interpreter (Polish)")
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED and appointment.status == AppointmentStatus.BOOKED
    assert appointment.booked_by == clerk and appointment.notes == "Needs an interpreter (Polish)"
    assert AuditEvent.objects.filter(
        action=Action.CREATE, patient_id=patient.pk, object_id=str(appointment.pk)
    ).exists()


def test_a_booked_slot_cannot_be_booked_again(session, clerk, patient):
    slot = first_slot(session)
    book(clerk, patient, slot)
    with pytest.raises(RecordError, match="booked by someone else"):
        book(clerk, PatientFactory(), slot)
    assert Appointment.objects.count() == 1


def test_a_past_or_blocked_slot_or_a_clash_is_refused(session, clerk, patient):
    slots = list(session.slots.order_by("starts_at"))
    Slot.objects.filter(pk=slots[0].pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(RecordError, match="time has passed"):
        book(clerk, patient, slots[0])
    Slot.objects.filter(pk=slots[1].pk).update(status=SlotStatus.BLOCKED)
    with pytest.raises(RecordError, match="no longer available"):
        book(clerk, patient, slots[1])
    book(clerk, patient, slots[2])
    Slot.objects.filter(pk=slots[3].pk).update(starts_at=slots[2].starts_at, ends_at=slots[2].ends_at)
    with pytest.raises(RecordError, match="already has an appointment then"):
        book(clerk, patient, slots[3])


def test_two_clerks_booking_one_slot_at_once_one_wins_the_other_is_told(transactional_db, consultant, clerk):
    session = generated_session(consultant)
    slot = first_slot(session)
    patients = [PatientFactory(), PatientFactory()]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def click(patient) -> None:
        try:
            barrier.wait()
            book(clerk, patient, slot)
            outcomes.append("booked")
        except RecordError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted(["booked", SLOT_TAKEN])
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED


def test_rescheduling_moves_in_one_step_and_keeps_where_it_came_from(session, clerk, patient):
    slots = list(session.slots.order_by("starts_at"))
    old = book(clerk, patient, slots[0])
    new = services.appointment_reschedule(
        by=clerk,
        appointment=old,
        slot=slots[2],
        cancelled_by=CancelledBy.PATIENT,
        reason="On holiday",
        version=1,
    )
    old.refresh_from_db()
    assert old.status == AppointmentStatus.CANCELLED and old.cancel_reason == "Rescheduled: On holiday"
    assert new.rescheduled_from == old and new.slot == slots[2]
    assert (
        dict(Slot.objects.filter(session=session).values_list("pk", "status"))[slots[0].pk] == SlotStatus.FREE
    )


def test_a_reschedule_into_a_taken_slot_changes_nothing(session, clerk, patient):
    slots = list(session.slots.order_by("starts_at"))
    old = book(clerk, patient, slots[0])
    book(clerk, PatientFactory(), slots[1])
    with pytest.raises(RecordError, match="booked by someone else"):
        services.appointment_reschedule(
            by=clerk,
            appointment=old,
            slot=slots[1],
            cancelled_by=CancelledBy.PATIENT,
            reason="Work",
            version=1,
        )
    old.refresh_from_db()
    assert (
        old.status == AppointmentStatus.BOOKED
        and Slot.objects.get(pk=slots[0].pk).status == SlotStatus.BOOKED
    )


def test_cancelling_needs_who_and_why_and_frees_the_slot(session, clerk, patient):
    slot = first_slot(session)
    appointment = book(clerk, patient, slot)
    with pytest.raises(RecordError, match="who asked"):
        services.appointment_cancel(
            by=clerk, appointment=appointment, cancelled_by="", reason="x y", version=1
        )
    with pytest.raises(RecordError, match="why"):
        services.appointment_cancel(
            by=clerk, appointment=appointment, cancelled_by="patient", reason="", version=1
        )
    with pytest.raises(StaleEdit):
        services.appointment_cancel(
            by=clerk, appointment=appointment, cancelled_by="patient", reason="Better", version=7
        )
    services.appointment_cancel(
        by=clerk, appointment=appointment, cancelled_by="patient", reason="Feels better", version=1
    )
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED and appointment.cancelled_by == "patient"
    assert appointment.status_changed_by == clerk and Slot.objects.get(pk=slot.pk).status == SlotStatus.FREE
    assert not selectors.to_rebook()  # the patient cancelled: nothing for the hospital to rebook
    book(clerk, PatientFactory(), slot)  # the slot is free for someone else


def _today(appointment: Appointment, minutes_ago: int = 5) -> None:
    start = timezone.now() - timedelta(minutes=minutes_ago)
    Slot.objects.filter(pk=appointment.slot_id).update(starts_at=start, ends_at=start + timedelta(minutes=15))


def test_attendance_is_recorded_in_order_with_who_and_when(session, clerk, nurse, patient):
    appointment = book(clerk, patient, first_slot(session))
    _today(appointment, minutes_ago=-2 * 24 * 60)  # two days ahead, whatever the time of day now
    with pytest.raises(RecordError, match="later day"):
        services.appointment_record(by=nurse, appointment=appointment, status="arrived", version=1)
    _today(appointment)
    arrived = services.appointment_record(by=nurse, appointment=appointment, status="arrived", version=1)
    assert arrived.status == AppointmentStatus.ARRIVED and arrived.status_changed_by == nurse
    assert arrived.status_changed_at is not None
    with pytest.raises(RecordError, match="cannot be recorded as did not attend"):
        services.appointment_record(by=nurse, appointment=appointment, status="dna", version=2)
    seen = services.appointment_record(by=nurse, appointment=appointment, status="seen", version=2)
    assert seen.status == AppointmentStatus.SEEN and seen.version == 3
    with pytest.raises(RecordError, match="only a booked appointment"):
        services.appointment_cancel(
            by=clerk, appointment=appointment, cancelled_by="patient", reason="x y z", version=3
        )


def test_did_not_attend_only_once_the_time_has_come_and_could_not_wait_after_arriving(
    session, clerk, patient
):
    appointment = book(clerk, patient, first_slot(session))
    _today(appointment, minutes_ago=-30)  # later today
    with pytest.raises(RecordError, match="has not come yet"):
        services.appointment_record(by=clerk, appointment=appointment, status="dna", version=1)
    _today(appointment)
    dna = services.appointment_record(by=clerk, appointment=appointment, status="dna", version=1)
    undone = services.appointment_record(by=clerk, appointment=dna, status="arrived", version=2)
    left = services.appointment_record(by=clerk, appointment=undone, status="left", version=3)
    assert left.get_status_display() == "Could not wait"
    assert [h.history_change_reason for h in left.history.order_by("history_id")][-3:] == [
        "Recorded did not attend",
        "Recorded arrived",
        "Recorded could not wait",
    ]


def test_the_clinic_staff_see_the_patient_from_booking_to_the_day_after(session, clerk, nurse, patient):
    clinic = session.clinic
    appointment = book(clerk, patient, first_slot(session))
    assert not has_care_relationship(nurse, patient)
    clinic.staff_group.user_set.add(nurse)
    assert has_care_relationship(nurse, patient)
    relationship = CareRelationship.objects.get(patient=patient, group=clinic.staff_group)
    assert relationship.kind == "clinic"
    assert (
        relationship.ends_at == services.day_end(appointment.slot.starts_at) + settings.EPR_CARE_GRACE_PERIOD
    )
    services.appointment_cancel(
        by=clerk, appointment=appointment, cancelled_by="hospital", reason="Error", version=1
    )
    relationship.refresh_from_db()
    assert relationship.ends_at <= timezone.now() + settings.EPR_CARE_GRACE_PERIOD
    withdraw_ended_care_relationships(
        now=timezone.now() + settings.EPR_CARE_GRACE_PERIOD + timedelta(minutes=1)
    )
    assert not has_care_relationship(nurse, patient)


def test_a_second_appointment_extends_the_one_care_relationship(session, consultant, clerk, patient):
    slots = list(session.slots.order_by("starts_at"))
    book(clerk, patient, slots[0])
    later = session.clinic.templates.first()
    from scheduling.services.clinics import sessions_generate

    sessions_generate(today=slots[0].starts_at.date(), weeks=1)
    next_week = (
        Slot.objects.filter(session__template=later, starts_at__gt=slots[-1].ends_at)
        .order_by("starts_at")
        .first()
    )
    book(clerk, patient, next_week)
    relationship = CareRelationship.objects.get(patient=patient, group=session.clinic.staff_group)
    assert relationship.ends_at == services.day_end(next_week.starts_at) + settings.EPR_CARE_GRACE_PERIOD


def test_the_note_changes_and_nothing_else(session, clerk, patient):
    appointment = book(clerk, patient, first_slot(session))
    changed = services.appointment_note(
        by=clerk, appointment=appointment, notes="Bring a urine sample", version=1
    )
    assert changed.notes == "Bring a urine sample" and changed.version == 2
    assert changed.status == AppointmentStatus.BOOKED and changed.slot_id == appointment.slot_id
    with pytest.raises(StaleEdit):
        services.appointment_note(by=clerk, appointment=appointment, notes="again", version=1)


def _pdf_text(pdf: bytes, tmp_path) -> str:
    tool = require_tool("pdftotext", "poppler-utils")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True)  # noqa: S603
    return result.stdout


def test_the_letter_says_when_where_and_what_to_bring_in_uk_time(session, clerk, tmp_path):
    patient = PatientFactory(
        title="Mrs",
        given_names="Mary",
        family_name="Jones",
        address_line_1="1 High Street",
        town="Leeds",
        postcode="LS1 4AP",
    )
    appointment = book(clerk, patient, first_slot(session), notes="Bring your blood glucose diary")
    pdf = appointment_letter_pdf(
        Appointment.objects.select_related("slot__session__clinic__site").get(pk=appointment.pk)
    )
    assert pdf.startswith(b"%PDF")
    text = " ".join(_pdf_text(pdf, tmp_path).split())
    local = appointment.slot.starts_at.astimezone(timezone.get_default_timezone())
    assert "Mrs Mary Jones" in text and "1 High Street" in text and "LS1 4AP" in text
    assert f"{local:%A} {local.day} {local:%B %Y} at 09:00" in text
    assert "Clinic CARD1" in text and "Outpatients B" in text
    assert "A list of the medicines you take" in text and "Bring your blood glucose diary" in text
    assert "01632 960000" in text


def test_the_letter_page_is_a_download_audited_as_an_export(session, clerk, patient):
    appointment = book(clerk, patient, first_slot(session))
    client = signed_in(clerk)
    response = client.get(reverse("scheduling:appointment_letter", args=[patient.pk, appointment.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "attachment" in response["Content-Disposition"]
    assert AuditEvent.objects.filter(
        action=Action.EXPORT, patient_id=patient.pk, detail__document="appointment letter"
    ).exists()


def _slots_page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_slot_search_queries_do_not_grow_with_the_slots(consultant, clerk, patient):
    client = signed_in(clerk)
    url = reverse("scheduling:book_search", args=[patient.pk])
    generated_session(consultant, code="A1")
    few = _slots_page_queries(client, url)
    for n in range(2, 12):
        generated_session(consultant, code=f"A{n}")
    many = _slots_page_queries(client, url)
    assert few == many
    assert client.get(f"{url}?page=2").status_code == 200


def test_the_slot_search_filters_by_specialty_type_consultant_and_dates(consultant, clerk, doctor):
    from records.models import Specialty
    from scheduling.services.clinics import sessions_generate
    from tests.scheduling.test_clinics import make_clinic, make_template, tomorrow

    cardiology = make_clinic(consultant, code="C1")
    make_template(cardiology, slot_type="new")
    diabetes = make_clinic(doctor, code="D1", specialty=Specialty.GENERAL_MEDICINE)
    make_template(diabetes, slot_type="telephone")
    sessions_generate(today=tomorrow(), weeks=1)

    def found(**criteria) -> set[str]:
        page = selectors.free_slots(selectors.SlotSearch(**criteria), per_page=100)
        return {s.session.clinic.code for s in page.object_list}

    assert found() == {"C1", "D1"}
    assert found(specialty=Specialty.CARDIOLOGY) == {"C1"}
    assert found(slot_type="telephone") == {"D1"}
    assert found(consultant_id=doctor.pk) == {"D1"}
    assert found(date_from=tomorrow() + timedelta(days=1), date_to=tomorrow() + timedelta(days=6)) == set()
    assert (
        selectors.free_slots(selectors.SlotSearch(date_from=tomorrow(), date_to=tomorrow())).paginator.count
        == 8
    )


def test_booking_through_the_pages(session, clerk, patient):
    client = signed_in(clerk)
    slot = first_slot(session)
    search = client.get(reverse("scheduling:book_search", args=[patient.pk]), {"slot_type": "follow-up"})
    assert (
        search.status_code == 200
        and reverse("scheduling:book_slot", args=[patient.pk, slot.pk]) in search.text
    )
    response = client.post(
        reverse("scheduling:book_slot", args=[patient.pk, slot.pk]), {"notes": "Wheelchair"}
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "scheduling:appointment_detail", args=[patient.pk, appointment.pk]
    )
    again = client.post(reverse("scheduling:book_slot", args=[patient.pk, slot.pk]), {"notes": ""})
    assert again.status_code == 200 and "booked by someone else" in again.text
    page = client.get(reverse("scheduling:patient_appointments", args=[patient.pk]))
    assert "Clinic CARD1" in page.text


def test_a_nurse_may_not_book_but_records_arrival_on_the_clinic_list(session, clerk, nurse, patient):
    appointment = book(clerk, patient, first_slot(session))
    _today(appointment)
    session.clinic.staff_group.user_set.add(nurse)
    client = signed_in(nurse)
    assert client.get(reverse("scheduling:book_search", args=[patient.pk])).status_code == 403
    listing = client.get(reverse("scheduling:session_detail", args=[session.pk]))
    assert listing.status_code == 200 and patient.family_name.upper() in listing.text
    assert AuditEvent.objects.filter(action=Action.LIST, patient_id=patient.pk).exists()
    response = client.post(
        reverse("scheduling:appointment_status", args=[patient.pk, appointment.pk]),
        {"status": "arrived", "version": "1", "session": str(session.pk)},
    )
    assert response.status_code == 302 and response.url == reverse(
        "scheduling:session_detail", args=[session.pk]
    )
    assert Appointment.objects.get().status == AppointmentStatus.ARRIVED


def test_staff_outside_the_clinic_do_not_see_its_list(session, outsider):
    assert signed_in(outsider).get(reverse("scheduling:session_detail", args=[session.pk])).status_code == 403


def test_the_day_lists_and_the_pages_without_a_patient_open(session, clerk, doctor):
    session.clinic.staff_group.user_set.add(doctor)
    day = session.starts_at.astimezone(timezone.get_default_timezone()).date().isoformat()
    assert "Clinic CARD1" in signed_in(doctor).get(reverse("scheduling:clinic_lists"), {"day": day}).text
    client = signed_in(clerk)
    for name in ("scheduling:slot_search", "scheduling:to_rebook", "scheduling:clinic_lists"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("scheduling:session_cancel", args=[session.pk])).status_code == 200
    assert client.get(reverse("scheduling:session_reduce", args=[session.pk])).status_code == 200


def test_choosing_a_patient_on_the_search_page_goes_to_their_booking(session, clerk, patient):
    client = signed_in(clerk)
    response = client.get(
        reverse("scheduling:slot_search"), {"patient": patient.hospital_number, "slot_type": "new"}
    )
    assert response.status_code == 302 and response.url.startswith(
        reverse("scheduling:book_search", args=[patient.pk])
    )
    assert "slot_type=new" in response.url
    missing = client.get(reverse("scheduling:slot_search"), {"patient": "NOPE123"})
    assert missing.status_code == 200 and "No patient has that hospital or NHS number" in missing.text


def test_bad_input_gets_a_message_not_a_500(session, clerk, patient):
    client = signed_in(clerk)
    search = client.get(
        reverse("scheduling:book_search", args=[patient.pk]), {"date_from": "2026-13-45", "page": "x"}
    )
    assert search.status_code == 200 and "must be a real date" in search.text
    appointment = book(clerk, patient, first_slot(session))
    bad = client.post(
        reverse("scheduling:appointment_status", args=[patient.pk, appointment.pk]), {"status": "nonsense"}
    )
    assert bad.status_code == 302
    cancel = client.post(
        reverse("scheduling:appointment_cancel", args=[patient.pk, appointment.pk]), {"version": "1"}
    )
    assert cancel.status_code == 200 and "Select who asked" in cancel.text


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_clinic_list_and_the_patients_appointments_queries_do_not_grow(consultant, clerk, patient):
    from scheduling.services.clinics import session_template_create, sessions_generate
    from tests.scheduling.test_clinics import make_clinic, tomorrow

    clinic = make_clinic(consultant, code="BIG")
    session_template_create(
        clinic=clinic,
        weekday=tomorrow().weekday(),
        starts=time(9),
        ends=time(17),
        valid_from=tomorrow(),
        slot_minutes=15,
        slot_type="new",
    )
    sessions_generate(today=tomorrow(), weeks=0)
    session = clinic.sessions.get()
    slots = list(session.slots.order_by("starts_at"))
    client = signed_in(clerk)
    list_url = reverse("scheduling:session_detail", args=[session.pk])
    mine_url = reverse("scheduling:patient_appointments", args=[patient.pk])
    book(clerk, patient, slots[0])
    few_list, few_mine = _page_queries(client, list_url), _page_queries(client, mine_url)
    for slot in slots[1:12]:
        book(clerk, PatientFactory(), slot)
    others = generated_session(consultant, code="OTHER")
    for slot in others.slots.order_by("starts_at")[1:]:  # the first is at the time of BIG's first
        book(clerk, patient, slot)
    assert _page_queries(client, list_url) == few_list
    assert _page_queries(client, mine_url) == few_mine


def test_a_taken_slot_sends_the_clerk_back_to_the_search(session, clerk, patient):
    slot = first_slot(session)
    book(clerk, PatientFactory(), slot)
    response = signed_in(clerk).get(reverse("scheduling:book_slot", args=[patient.pk, slot.pk]))
    assert response.status_code == 302 and response.url.startswith(
        reverse("scheduling:book_search", args=[patient.pk])
    )


def test_a_session_cancelled_and_its_patient_rebooked_through_the_pages(session, consultant, clerk, patient):
    book(clerk, patient, first_slot(session))
    client = signed_in(clerk)
    response = client.post(
        reverse("scheduling:session_cancel", args=[session.pk]),
        {"reason": "Consultant on leave", "version": "1"},
    )
    assert response.status_code == 302
    cancelled = Appointment.objects.get()
    assert cancelled.cancelled_by == CancelledBy.HOSPITAL
    rebook_page = client.get(reverse("scheduling:to_rebook"))
    assert patient.hospital_number in rebook_page.text
    other = generated_session(consultant, code="CARD2")
    new_slot = first_slot(other)
    search = client.get(reverse("scheduling:book_search", args=[patient.pk]), {"rebook": cancelled.pk})
    assert f"?rebook={cancelled.pk}" in search.text and "The hospital cancelled" in search.text
    done = client.post(
        reverse("scheduling:book_slot", args=[patient.pk, new_slot.pk]), {"rebook": cancelled.pk}
    )
    assert done.status_code == 302
    new = Appointment.objects.get(slot=new_slot)
    assert new.rescheduled_from == cancelled and not selectors.to_rebook()


def test_moving_through_the_pages_asks_who_and_why(session, clerk, patient):
    slots = list(session.slots.order_by("starts_at"))
    old = book(clerk, patient, slots[0])
    client = signed_in(clerk)
    url = reverse("scheduling:book_slot", args=[patient.pk, slots[1].pk])
    refused = client.post(url, {"move": old.pk, "move-version": "1"})
    assert refused.status_code == 200 and "Select who asked" in refused.text
    moved = client.post(
        url,
        {
            "move": old.pk,
            "move-version": "1",
            "move-cancelled_by": "patient",
            "move-reason": "Working that day",
        },
    )
    assert moved.status_code == 302
    assert Appointment.objects.get(slot=slots[1]).rescheduled_from == old
