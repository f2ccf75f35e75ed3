"""The bed board: requests allocated to free beds only, a bed never holding two patients (also with
two bed managers at once, on real connections), the bed a patient leaves awaiting cleaning, blocking
and closing with a reason, who sees names, the fragment's access and audit, occupancy, and query
counts that do not grow with the hospital."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import AuditEvent
from records import services as records
from records.errors import RecordError, StaleEdit
from records.models import WardStay
from scheduling.demo.beds import load_bed_board_demo
from scheduling.models import BedCondition, BedRequest, BedRequestStatus, BedState
from scheduling.selectors import beds as selectors
from scheduling.services import beds as services
from tests.factories import BedFactory, PatientFactory, UserFactory, WardFactory
from tests.support import signed_in


def ask(by, patient, *, source="ed", urgent=False, **extra) -> BedRequest:
    return services.bed_request_create(
        requested_by=by, patient=patient, source=source, specialty="300", urgent=urgent, **extra
    )


def allocate(by, request: BedRequest, bed) -> BedRequest:
    request.refresh_from_db()
    return services.bed_allocate(allocated_by=by, request=request, bed=bed, version=request.version)


@pytest.fixture
def waiting(doctor, db) -> BedRequest:
    return ask(doctor, PatientFactory(family_name="Waits", given_names="Wendy"), urgent=True)


# --- requests and allocation ---


def test_a_request_is_allocated_to_a_free_bed_and_the_patient_admitted_there(
    waiting, bed, manager, doctor, django_capture_on_commit_callbacks
):
    allocated = allocate(manager, waiting, bed)
    assert allocated.status == BedRequestStatus.ALLOCATED and allocated.bed == bed
    with django_capture_on_commit_callbacks(execute=True):
        arrived = services.bed_request_arrived(
            by=manager, request=allocated, version=allocated.version, consultant=doctor
        )
    assert arrived.status == BedRequestStatus.ARRIVED and arrived.closed_at is not None
    stay = WardStay.objects.get(bed=bed, ended_at__isnull=True)
    assert stay.encounter.patient_id == waiting.patient_id and stay.encounter.admission_method == "21"
    assert arrived.history.first().history_change_reason == "Arrived in the bed"


def test_a_patient_on_another_ward_is_transferred_and_their_old_bed_awaits_cleaning(
    admitted, bed, other_bed, other_ward, nurse, manager, django_capture_on_commit_callbacks
):
    request = ask(nurse, admitted.patient, source="ward", from_ward=admitted.ward_stays.first().ward)
    allocate(manager, request, other_bed)
    request.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.bed_request_arrived(by=manager, request=request, version=request.version)
    assert WardStay.objects.get(encounter=admitted, ended_at__isnull=True).bed == other_bed
    assert BedState.objects.get(bed=bed).condition == BedCondition.CLEANING


def test_only_a_free_bed_is_allocated(waiting, admitted, bed, second_bed, manager, doctor):
    with pytest.raises(RecordError, match="occupied"):
        allocate(manager, waiting, bed)
    services.bed_close(by=manager, bed=second_bed, condition="blocked", reason="Leak", version=0)
    with pytest.raises(RecordError, match="blocked"):
        allocate(manager, waiting, second_bed)
    third = BedFactory(bay=bed.bay, label="3")
    allocate(manager, waiting, third)
    other = ask(doctor, PatientFactory())
    with pytest.raises(RecordError, match="just allocated to another request"):
        allocate(manager, other, third)
    assert selectors.free_beds() == []


def test_a_stale_allocation_is_refused(waiting, bed, second_bed, manager):
    version = waiting.version
    allocate(manager, waiting, bed)
    with pytest.raises(StaleEdit):
        services.bed_allocate(allocated_by=manager, request=waiting, bed=second_bed, version=version)


def test_one_open_request_per_patient_and_bad_input_is_refused_clearly(waiting, doctor):
    with pytest.raises(RecordError, match="already has a bed request"):
        ask(doctor, waiting.patient)
    with pytest.raises(RecordError, match="ward the patient is on now"):
        ask(doctor, PatientFactory(), source="ward")
    with pytest.raises(RecordError, match="where the request comes from"):
        ask(doctor, PatientFactory(), source="moon")
    assert BedRequest.objects.count() == 1


def test_cancelling_needs_a_reason_and_frees_the_allocated_bed(waiting, bed, manager, doctor):
    allocate(manager, waiting, bed)
    waiting.refresh_from_db()
    with pytest.raises(RecordError, match="reason"):
        services.bed_request_cancel(by=manager, request=waiting, reason="  ", version=waiting.version)
    cancelled = services.bed_request_cancel(
        by=manager, request=waiting, reason="Went home from ED", version=waiting.version
    )
    assert cancelled.status == BedRequestStatus.CANCELLED and cancelled.cancel_reason == "Went home from ED"
    assert selectors.free_beds() == [bed]
    ask(doctor, waiting.patient)  # a new request for the same patient is allowed once the old one closed


def test_arrival_without_an_admission_needs_a_consultant(waiting, bed, manager):
    allocated = allocate(manager, waiting, bed)
    with pytest.raises(RecordError, match="consultant"):
        services.bed_request_arrived(by=manager, request=allocated, version=allocated.version)
    assert not WardStay.objects.filter(bed=bed).exists()
    allocated.refresh_from_db()
    assert allocated.status == BedRequestStatus.ALLOCATED


def test_arrival_into_a_bed_someone_took_meanwhile_is_refused_and_nothing_is_half_saved(
    waiting, bed, manager, doctor, clerk
):
    allocated = allocate(manager, waiting, bed)
    records.encounter_admit(  # a clerk admits someone else straight into the bed, past the board
        admitted_by=clerk,
        patient=PatientFactory(),
        ward=bed.ward,
        bed=bed,
        consultant=doctor,
        specialty="300",
        admission_method="21",
    )
    with pytest.raises(RecordError, match="occupied"):
        services.bed_request_arrived(
            by=manager, request=allocated, version=allocated.version, consultant=doctor
        )
    allocated.refresh_from_db()
    assert allocated.status == BedRequestStatus.ALLOCATED
    assert WardStay.objects.filter(bed=bed, ended_at__isnull=True).count() == 1


# --- concurrency, on real connections ---


def _at_once(*actions) -> list[str]:
    outcomes: list[str] = []
    barrier = threading.Barrier(len(actions))

    def run(action) -> None:
        try:
            barrier.wait()
            action()
            outcomes.append("won")
        except RecordError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_bed_managers_allocating_one_bed_to_two_requests_at_once_one_wins(
    transactional_db, bed, manager, nurse, doctor
):
    first, second = ask(doctor, PatientFactory()), ask(doctor, PatientFactory())
    outcomes = _at_once(
        lambda: services.bed_allocate(allocated_by=manager, request=first, bed=bed, version=first.version),
        lambda: services.bed_allocate(allocated_by=nurse, request=second, bed=bed, version=second.version),
    )
    assert sorted(outcomes)[-1] == "won" and outcomes.count("won") == 1
    assert any("just allocated to another request" in o for o in outcomes)
    assert BedRequest.objects.filter(bed=bed, status=BedRequestStatus.ALLOCATED).count() == 1


def test_two_clicks_allocating_one_request_at_once_allocate_it_once(transactional_db, bed, manager, doctor):
    request = ask(doctor, PatientFactory())
    outcomes = _at_once(
        lambda: services.bed_allocate(
            allocated_by=manager, request=request, bed=bed, version=request.version
        ),
        lambda: services.bed_allocate(
            allocated_by=manager, request=request, bed=bed, version=request.version
        ),
    )
    assert outcomes.count("won") == 1 and len(outcomes) == 2
    request.refresh_from_db()
    assert request.version == 2 and request.history.count() == 2


def test_two_arrivals_into_one_bed_at_once_put_one_patient_in_it(
    transactional_db, bed, manager, doctor, clerk
):
    """The board promised the bed once; here a clerk admits into it while the bed manager records the
    arrival: records' wardstay_bed_free is the last guard, and the loser gets a clear message."""
    request = allocate(manager, ask(doctor, PatientFactory()), bed)
    outcomes = _at_once(
        lambda: services.bed_request_arrived(
            by=manager, request=request, version=request.version, consultant=doctor
        ),
        lambda: records.encounter_admit(
            admitted_by=clerk,
            patient=PatientFactory(),
            ward=bed.ward,
            bed=bed,
            consultant=doctor,
            specialty="300",
            admission_method="21",
        ),
    )
    assert outcomes.count("won") == 1
    assert WardStay.objects.filter(bed=bed, ended_at__isnull=True).count() == 1


# --- a bed's own state ---


def test_a_discharge_leaves_the_bed_awaiting_cleaning_until_marked_clean(
    admitted, bed, doctor, nurse, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        records.encounter_discharge(discharged_by=doctor, encounter=admitted, destination="19")
    state = BedState.objects.get(bed=bed)
    assert state.condition == BedCondition.CLEANING and state.changed_by == doctor
    assert selectors.free_beds() == []
    services.bed_make_available(by=nurse, bed=bed, version=state.version)
    assert selectors.free_beds() == [bed]
    with pytest.raises(RecordError, match="already available"):
        services.bed_make_available(by=nurse, bed=bed, version=state.version + 1)


def test_a_blocked_bed_stays_blocked_when_someone_leaves_it(bed, manager):
    services.bed_close(by=manager, bed=bed, condition="blocked", reason="Leak", version=0)
    services.bed_left(bed_id=bed.pk, by=manager)
    assert BedState.objects.get(bed=bed).condition == BedCondition.BLOCKED


def test_closing_needs_a_reason_an_empty_bed_and_a_current_version(admitted, bed, second_bed, manager):
    with pytest.raises(RecordError, match="Enter the reason"):
        services.bed_close(by=manager, bed=second_bed, condition="closed", reason=" ", version=0)
    with pytest.raises(RecordError, match="has a patient in it"):
        services.bed_close(by=manager, bed=bed, condition="closed", reason="Broken", version=0)
    state = services.bed_close(
        by=manager, bed=second_bed, condition="closed", reason="Broken rail", version=0
    )
    with pytest.raises(StaleEdit):
        services.bed_close(by=manager, bed=second_bed, condition="blocked", reason="x", version=0)
    services.bed_make_available(by=manager, bed=second_bed, version=state.version)
    assert [h.condition for h in BedState.history.filter(bed_id=second_bed.pk)] == ["available", "closed"]


# --- the board: states, names, order, queries, access ---


def _hospital(wards: int, beds: int, by, doctor, clerk, prefix: str = "WX") -> None:
    for w in range(wards):
        ward = WardFactory(name=f"Ward {prefix}{w}", code=f"{prefix}{w}")
        for b in range(beds):
            bed = BedFactory(bay__ward=ward, bay__name=f"Bay {b}", label=str(b))
            if b % 3 == 0:
                records.encounter_admit(
                    admitted_by=clerk,
                    patient=PatientFactory(),
                    ward=ward,
                    bed=bed,
                    consultant=doctor,
                    specialty="300",
                    admission_method="21",
                )
            elif b % 3 == 1:
                services.bed_close(by=by, bed=bed, condition="blocked", reason="Leak", version=0)
        ask(doctor, PatientFactory())


@pytest.mark.parametrize("who", ["manager", "nurse"])
def test_the_board_takes_the_same_queries_for_a_small_and_a_big_hospital(
    who, request, manager, doctor, clerk
):
    user = request.getfixturevalue(who)
    _hospital(1, 3, manager, doctor, clerk)
    client = signed_in(user)
    url = reverse("scheduling:bed_board_fragment")
    client.get(url)  # sessions, permissions cached
    cache.clear()  # each measured poll audits everyone it shows (one insert however many)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _hospital(3, 6, manager, doctor, clerk, prefix="WY")
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_free_beds_come_first_and_names_show_only_to_those_who_may_see_them(
    admitted, bed, second_bed, ward, manager, outsider, nurse, doctor
):
    third = BedFactory(bay=bed.bay, label="3")
    services.bed_close(by=manager, bed=third, condition="closed", reason="Broken rail", version=0)
    admitted.expected_discharge_date = timezone.localdate() + timedelta(days=2)
    admitted.save()
    board = selectors.bed_board(manager, ward_id=ward.pk)
    cells = board.wards[0].cells
    assert [c.state for c in cells] == ["free", "occupied", "closed"]
    assert cells[1].name_shown and cells[1].expected_discharge == admitted.expected_discharge_date
    assert cells[2].condition.reason == "Broken rail"
    assert selectors.bed_board(nurse, ward_id=ward.pk).wards[0].cells[1].name_shown
    hidden = signed_in(outsider).get(reverse("scheduling:bed_board")).content.decode()
    assert "SMITH, John" not in hidden and "Occupied" in hidden and "Broken rail" in hidden


def test_waiting_requests_are_urgent_first_then_oldest(doctor, manager, db):
    old = ask(doctor, PatientFactory(family_name="Old"))
    urgent = ask(doctor, PatientFactory(family_name="Urgent"), urgent=True)
    new = ask(doctor, PatientFactory(family_name="New"))
    board = selectors.bed_board(manager)
    assert [r.request for r in board.waiting] == [urgent, old, new]


def test_the_fragment_is_refused_to_those_who_may_not_see_the_board_and_audits_names_shown(
    admitted, waiting, manager, admin_user
):
    url = reverse("scheduling:bed_board_fragment")
    assert signed_in(admin_user).get(url).status_code == 403
    signed_out = Client().get(url)
    assert signed_out.status_code == 204 and signed_out["HX-Redirect"].startswith("/accounts/login/")
    before = AuditEvent.objects.filter(action="list").count()
    assert signed_in(manager).get(url).status_code == 200
    shown = AuditEvent.objects.filter(action="list").order_by("-pk")[:2]
    assert AuditEvent.objects.filter(action="list").count() == before + 2
    assert {e.patient_id for e in shown} == {admitted.patient_id, waiting.patient_id}
    assert all(e.detail["list"] == "bed board" for e in shown)


def test_a_board_left_open_audits_each_patient_once_in_ten_minutes_not_every_poll(
    admitted, waiting, manager, doctor
):
    cache.clear()
    client = signed_in(manager)
    url = reverse("scheduling:bed_board_fragment")
    client.get(url)
    before = AuditEvent.objects.filter(action="list").count()
    client.get(url)  # the next poll: nobody new on the board
    assert AuditEvent.objects.filter(action="list").count() == before
    newcomer = ask(doctor, PatientFactory(family_name="Newcomer"))
    client.get(url)
    latest = AuditEvent.objects.filter(action="list").order_by("-pk")
    assert latest.count() == before + 1 and latest[0].patient_id == newcomer.patient_id


def test_the_board_polls_its_fragment(manager, settings, ward):
    settings.BED_BOARD_POLL_SECONDS = 1
    page = signed_in(manager).get(reverse("scheduling:bed_board")).content.decode()
    assert 'hx-trigger="every 1000ms"' in page and reverse("scheduling:bed_board_fragment") in page


# --- pages ---


def test_a_bed_manager_allocates_through_the_page_and_a_taken_bed_gets_a_clear_message(
    waiting, bed, second_bed, manager, doctor
):
    client = signed_in(manager)
    url = reverse("scheduling:bed_request_allocate", args=[waiting.pk])
    page = client.get(url).content.decode()
    assert "waits" in page.lower() and "Bay A bed 1" in page
    taken = allocate(manager, ask(doctor, PatientFactory()), bed)
    response = client.post(url, {"bed": bed.pk, "version": waiting.version})
    assert "just allocated to another request" in response.content.decode() and taken.bed == bed
    response = client.post(url, {"bed": second_bed.pk, "version": waiting.version})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.bed == second_bed


def test_only_bed_managers_allocate_and_change_beds(waiting, bed, doctor, clerk):
    for user in (doctor, clerk):
        client = signed_in(user)
        assert client.get(reverse("scheduling:bed_request_allocate", args=[waiting.pk])).status_code == 403
        assert client.post(reverse("scheduling:bed_detail", args=[bed.pk]), {}).status_code == 403
        assert client.get(reverse("scheduling:bed_detail", args=[bed.pk])).status_code == 200


def test_a_doctor_requests_a_bed_from_the_patient_page(admitted, doctor, clerk, other_ward):
    client = signed_in(doctor)
    url = reverse("scheduling:bed_request_new", args=[admitted.patient_id])
    patient_page = client.get(reverse("records:patient_detail", args=[admitted.patient_id])).content.decode()
    assert url in patient_page
    response = client.post(url, {"source": "ed", "specialty": "", "needs": "Side room"})
    assert "Select a specialty" in response.content.decode() and not BedRequest.objects.exists()
    response = client.post(
        url,
        {
            "source": "ward",
            "from_ward": admitted.ward_stays.get().ward_id,
            "specialty": "320",
            "wanted_ward": other_ward.pk,
            "needs": "Cardiac monitoring",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    made = BedRequest.objects.get()
    assert (made.source, made.specialty, made.wanted_ward, made.needs) == (
        "ward",
        "320",
        other_ward,
        "Cardiac monitoring",
    )
    assert signed_in(clerk).get(url).status_code == 403


def test_a_blocked_bed_through_its_page_and_marked_available_again(bed, nurse):
    client = signed_in(nurse)
    url = reverse("scheduling:bed_detail", args=[bed.pk])
    response = client.post(url, {"condition": "blocked", "reason": "", "version": 0})
    assert "Enter" in response.content.decode() and not BedState.objects.exists()
    assert (
        client.post(url, {"condition": "blocked", "reason": "Leaking tap", "version": 0}).status_code == 302
    )
    state = BedState.objects.get()
    assert (state.condition, state.reason) == ("blocked", "Leaking tap")
    client.post(reverse("scheduling:bed_available", args=[bed.pk]), {"version": state.version})
    state.refresh_from_db()
    assert state.condition == "available"


# --- occupancy ---


def test_occupancy_today_and_over_a_range(admitted, bed, second_bed, doctor, clerk, manager):
    _, by_specialty, total = selectors.occupancy_today()
    assert (total.occupied, total.available, total.percent) == (1, 2, 50)
    assert [(o.label, o.occupied) for o in by_specialty] == [("General internal medicine", 1)]
    stay = WardStay.objects.get(encounter=admitted)
    today = timezone.localdate()
    stay.started_at = timezone.make_aware(datetime.combine(today - timedelta(days=2), time.min))
    stay.save()
    result = selectors.occupancy_range(today - timedelta(days=3), today - timedelta(days=1))
    assert [o.occupied for _, o in result.days] == [0.0, 1.0, 1.0]
    assert result.by_ward[0].occupied == 2.0 and result.by_ward[0].available == 6
    page = signed_in(manager).get(
        reverse("scheduling:bed_occupancy"), {"start": "2026-01-10", "end": "2026-01-01"}
    )
    assert "on or after the start date" in page.content.decode()


def test_occupancy_over_a_range_takes_the_same_queries_for_more_stays(admitted, doctor, clerk, manager):
    today = timezone.localdate()
    with CaptureQueriesContext(connection) as few:
        selectors.occupancy_range(today - timedelta(days=30), today)
    _hospital(2, 6, manager, doctor, clerk)
    with CaptureQueriesContext(connection) as many:
        selectors.occupancy_range(today - timedelta(days=30), today)
    assert len(few) == len(many) == 3


def test_a_bed_manager_raises_a_request_by_hospital_number(manager, nurse, clerk, db):
    patient = PatientFactory()
    client = signed_in(manager)
    find = reverse("scheduling:bed_request_find")
    response = client.get(find, {"number": f" {patient.hospital_number} "})
    assert response["Location"] == reverse("scheduling:bed_request_new", args=[patient.pk])
    response = client.post(response["Location"], {"source": "assessment", "specialty": "300"})
    assert response.status_code == 302 and BedRequest.objects.get().requested_by == manager
    response = client.get(find, {"number": "nobody"}, follow=True)
    assert "No patient has that hospital or NHS number" in response.content.decode()
    assert signed_in(clerk).get(find, {"number": patient.hospital_number}).status_code == 403


def test_the_demo_has_requests_waiting_a_bed_awaiting_cleaning_and_one_blocked(db):
    for name, role in (("nurse", "nurse"), ("doctor", "doctor"), ("manager", "manager")):
        UserFactory(username=name, role=role)
    for code in ("SL-A1", "SL-B2"):
        BedFactory(bay__ward=WardFactory(code=code, name=code), bay__name="Bay A", label="1")
    for _ in range(3):
        PatientFactory()
    summary = load_bed_board_demo(print)
    assert "3 bed requests waiting" in summary
    waiting = list(BedRequest.objects.filter(status=BedRequestStatus.WAITING))
    assert len(waiting) == 3 and waiting[0].urgent and waiting[0].source == "ed"
    assert sorted(BedState.objects.values_list("condition", flat=True)) == ["blocked", "cleaning"]
    assert load_bed_board_demo(print) == "Bed board: already loaded."
