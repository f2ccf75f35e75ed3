"""Clinics and their sessions through the services: a clinic gets its staff group, templates are
refused with the rules' own message, sessions are generated ahead once (bank holidays skipped, 09:00
kept across the clock change), a session is cancelled or reduced with its booked patients listed to
rebook, and theatre cases are added, reordered and cancelled."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.admin.sites import site as admin_site
from django.utils import timezone

from epr.accounts.roles import Role
from records.errors import RecordError, StaleEdit
from records.models import Specialty
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    CancelledBy,
    ClinicSession,
    Recurrence,
    SessionKind,
    SessionStatus,
    SessionTemplate,
    Slot,
    SlotStatus,
    SlotType,
)
from scheduling.rules import sessions as rules
from scheduling.selectors import clinics as selectors
from scheduling.services import clinics as services
from scheduling.services.appointments import appointment_book
from tests.factories import PatientFactory, SiteFactory, UserFactory


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def make_clinic(
    consultant, *, code: str = "CARD1", kind: str = SessionKind.CLINIC, specialty=Specialty.CARDIOLOGY
):
    return services.clinic_create(
        code=code,
        name=f"Clinic {code}",
        specialty=specialty,
        consultant=consultant,
        site=SiteFactory(),
        location="Outpatients B",
        kind=kind,
    )


def make_template(clinic, *, day: date | None = None, **fields) -> SessionTemplate:
    day = day or tomorrow()
    values = {
        "clinic": clinic,
        "weekday": day.weekday(),
        "starts": time(9),
        "ends": time(10),
        "valid_from": day,
        "slot_minutes": 15,
        "slot_type": SlotType.FOLLOW_UP,
        **fields,
    }
    return services.session_template_create(**values)


def generated_session(consultant, *, code: str = "CARD1", kind: str = SessionKind.CLINIC) -> ClinicSession:
    """A clinic with one session tomorrow 09:00-10:00 (four 15-minute follow-up slots)."""
    clinic = make_clinic(consultant, code=code, kind=kind)
    make_template(clinic)
    services.sessions_generate(today=tomorrow(), weeks=0)
    return ClinicSession.objects.get(clinic=clinic)


@pytest.fixture
def consultant(db):
    return UserFactory(username="ross", role=Role.DOCTOR, first_name="Hannah", last_name="Ross")


@pytest.fixture
def session(consultant):
    return generated_session(consultant)


def test_a_clinic_gets_its_own_staff_group_with_the_consultant(consultant, nurse):
    clinic = make_clinic(consultant)
    services.clinic_add_staff(clinic=clinic, users=[nurse])
    assert clinic.staff_group.name == "clinic:CARD1"
    assert set(clinic.staff_group.user_set.all()) == {consultant, nurse}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"recurrence": Recurrence.FORTNIGHTLY}, "needs an anchor date"),
        ({"recurrence": Recurrence.MONTHLY}, "nth must be 1 to 4"),
        ({"starts": time(11), "ends": time(10)}, "must end after it starts"),
        ({"slot_minutes": 90}, "No slot fits"),
        ({"slot_layout": [[10, "coffee"]]}, "Unknown slot type coffee"),
        ({"slot_layout": [[0, "new"]]}, "whole number of minutes above 0"),
    ],
)
def test_a_bad_template_is_refused_with_the_rules_message(consultant, fields, message):
    clinic = make_clinic(consultant)
    with pytest.raises(RecordError, match=message):
        make_template(clinic, **fields)
    assert not SessionTemplate.objects.exists()


def test_the_admin_form_refuses_a_bad_template_with_the_same_message(consultant):
    clinic = make_clinic(consultant)
    form_class = admin_site._registry[SessionTemplate].form
    data = {
        "clinic": clinic.pk,
        "weekday": 0,
        "starts": "09:00",
        "ends": "12:00",
        "recurrence": "fortnightly",
        "anchor": "2026-06-02",  # a Tuesday
        "valid_from": "2026-06-01",
        "slot_minutes": 15,
        "slot_type": "new",
        "slot_layout": "[]",
        "active": "on",
    }
    form = form_class(data=data)
    assert not form.is_valid()
    assert "is a Tuesday, but the session is on Mondays" in str(form.errors)
    form = form_class(data={**data, "anchor": "2026-06-01"})
    assert form.is_valid(), form.errors


def test_sessions_are_generated_ahead_with_their_slots_once(consultant):
    clinic = make_clinic(consultant)
    template = make_template(clinic, slot_layout=[[30, "new"], [15, "follow-up"], [15, "follow-up"]])
    first = services.sessions_generate(today=tomorrow(), weeks=6)
    again = services.sessions_generate(today=tomorrow(), weeks=6)
    expected = rules.sessions(
        services.rule_template(template),
        tomorrow(),
        tomorrow() + timedelta(weeks=6),
        skip=services._skipped(tomorrow(), tomorrow() + timedelta(weeks=6)),
    )
    assert first.sessions == len(expected) >= 6 and first.slots == 3 * first.sessions
    assert again.sessions == 0 and ClinicSession.objects.count() == len(expected)
    session = ClinicSession.objects.first()
    assert [s.slot_type for s in session.slots.order_by("starts_at")] == ["new", "follow-up", "follow-up"]


def test_bank_holidays_are_skipped_and_nine_stays_nine_across_the_clock_change(consultant):
    clinic = make_clinic(consultant)
    # Mondays from March to early April 2026: 30 March is after the spring clock change, 6 April is
    # Easter Monday.
    make_template(clinic, day=date(2026, 3, 23), valid_from=date(2026, 3, 23))
    services.sessions_generate(today=date(2026, 3, 23), weeks=2)
    starts = list(ClinicSession.objects.order_by("starts_at").values_list("starts_at", flat=True))
    assert starts == [datetime(2026, 3, 23, 9, tzinfo=UTC), datetime(2026, 3, 30, 8, tzinfo=UTC)]
    assert all(s.astimezone(rules.CLINIC_TIME).hour == 9 for s in starts)


def test_generation_runs_past_a_template_nobody_can_use(consultant):
    clinic = make_clinic(consultant)
    make_template(clinic)
    SessionTemplate.objects.create(  # a bad row written around the service must not stop the rest
        clinic=clinic, weekday=0, starts=time(9), ends=time(8), valid_from=tomorrow()
    )
    assert services.sessions_generate(today=tomorrow(), weeks=0).sessions == 1


def test_the_beat_task_generates_sessions(consultant):
    from scheduling.tasks import generate_clinic_sessions

    make_template(make_clinic(consultant))
    assert generate_clinic_sessions() >= 1


def _book_two(session, clerk):
    slots = list(session.slots.order_by("starts_at"))
    patients = [PatientFactory(), PatientFactory()]
    for patient, slot in zip(patients, slots, strict=False):
        appointment_book(by=clerk, patient=patient, slot=slot)
    return slots, patients


def test_cancelling_a_session_blocks_its_slots_and_lists_its_patients_to_rebook(session, clerk):
    _, patients = _book_two(session, clerk)
    with pytest.raises(RecordError, match="reason"):
        services.session_cancel(by=clerk, session=session, reason=" ", version=session.version)
    cancelled = services.session_cancel(
        by=clerk, session=session, reason="Consultant on sick leave", version=session.version
    )
    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED and session.change_reason == "Consultant on sick leave"
    assert {a.patient for a in cancelled} == set(patients)
    assert set(Slot.objects.filter(session=session).values_list("status", flat=True)) == {SlotStatus.BLOCKED}
    for appointment in Appointment.objects.all():
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.cancelled_by == CancelledBy.HOSPITAL and "sick leave" in appointment.cancel_reason
    listing = selectors.clinic_list(session)
    assert {a.patient for a in listing.cancelled} == set(patients)
    assert {a.patient for a in selectors.to_rebook()} == set(patients) and selectors.to_rebook_count() == 2
    with pytest.raises(RecordError, match="already cancelled"):
        services.session_cancel(by=clerk, session=session, reason="again", version=session.version)


def test_a_stale_session_page_cannot_cancel(session, clerk):
    with pytest.raises(StaleEdit):
        services.session_cancel(
            by=clerk, session=session, reason="Consultant away", version=session.version + 1
        )


def test_reducing_a_session_blocks_only_the_chosen_slots(session, clerk):
    slots, patients = _book_two(session, clerk)
    cancelled = services.session_reduce(
        by=clerk,
        session=session,
        slot_ids=[slots[1].pk, slots[3].pk],
        reason="Late start",
        version=session.version,
    )
    session.refresh_from_db()
    assert session.status == SessionStatus.REDUCED
    assert [a.patient for a in cancelled] == [patients[1]]
    statuses = dict(Slot.objects.filter(session=session).values_list("pk", "status"))
    assert statuses == {
        slots[0].pk: SlotStatus.BOOKED,
        slots[1].pk: SlotStatus.BLOCKED,
        slots[2].pk: SlotStatus.FREE,
        slots[3].pk: SlotStatus.BLOCKED,
    }
    with pytest.raises(RecordError, match="Tick the slots"):
        services.session_reduce(
            by=clerk, session=session, slot_ids=[slots[1].pk], reason="x y z", version=session.version
        )


def test_rebooking_takes_the_patient_off_the_list(session, clerk, consultant):
    from scheduling.services.appointments import appointment_rebook

    _book_two(session, clerk)
    services.session_cancel(by=clerk, session=session, reason="Clinic room flooded", version=session.version)
    other = generated_session(consultant, code="CARD2")
    first = selectors.to_rebook()[0]
    new = appointment_rebook(by=clerk, appointment=first, slot=other.slots.first())
    assert new.rescheduled_from == first and len(selectors.to_rebook()) == 1
    with pytest.raises(RecordError, match="already rebooked"):
        appointment_rebook(by=clerk, appointment=first, slot=other.slots.last())


def test_theatre_cases_are_added_in_order_reordered_and_cancelled(consultant, clerk):
    session = generated_session(consultant, code="THR1", kind=SessionKind.THEATRE)
    patients = [PatientFactory() for _ in range(3)]
    cases = [
        services.theatre_case_add(by=clerk, session=session, patient=p, procedure=name, expected_minutes=60)
        for p, name in zip(patients, ["Hernia repair", "Cholecystectomy", "Lipoma"], strict=True)
    ]
    assert [c.position for c in cases] == [1, 2, 3]
    services.theatre_case_move(by=clerk, case=cases[2], up=True)
    assert [c.procedure for c in selectors.clinic_list(session).cases] == [
        "Hernia repair",
        "Lipoma",
        "Cholecystectomy",
    ]
    services.theatre_cases_reorder(
        by=clerk, session=session, case_ids=[cases[1].pk, cases[0].pk, cases[2].pk]
    )
    assert [c.procedure for c in selectors.clinic_list(session).cases] == [
        "Cholecystectomy",
        "Hernia repair",
        "Lipoma",
    ]
    with pytest.raises(RecordError, match="changed since you opened it"):
        services.theatre_cases_reorder(by=clerk, session=session, case_ids=[cases[1].pk, cases[0].pk])
    cancelled = services.theatre_case_cancel(by=clerk, case=cases[0], reason="Patient unwell")
    assert (
        cancelled.cancelled and cancelled.history.first().history_change_reason == "Cancelled: Patient unwell"
    )
    with pytest.raises(RecordError, match="already cancelled"):
        services.theatre_case_cancel(by=clerk, case=cases[0], reason="again")


def test_cases_go_on_theatre_sessions_only(session, clerk, patient):
    with pytest.raises(RecordError, match="theatre sessions only"):
        services.theatre_case_add(by=clerk, session=session, patient=patient, procedure="Hernia repair")


def test_a_clinic_added_in_admin_gets_its_staff_group_with_the_chosen_staff(
    consultant, nurse, admin_user, rf
):
    from scheduling.models import Clinic

    model_admin = admin_site._registry[Clinic]
    request = rf.post("/django-admin/scheduling/clinic/add/")
    request.user = admin_user
    form_class = model_admin.get_form(request, None, change=False)
    form = form_class(
        data={
            "code": "DERM1",
            "name": "Dermatology",
            "specialty": Specialty.GENERAL_MEDICINE,
            "consultant": consultant.pk,
            "site": SiteFactory().pk,
            "location": "Outpatients C",
            "kind": SessionKind.CLINIC,
            "active": "on",
            "staff": [nurse.pk],
        }
    )
    assert form.is_valid(), form.errors
    clinic = form.save(commit=False)
    model_admin.save_model(request, clinic, form, change=False)
    clinic.refresh_from_db()
    assert clinic.staff_group.name == "clinic:DERM1"
    assert set(clinic.staff_group.user_set.all()) == {consultant, nurse}
