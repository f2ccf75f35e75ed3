"""The FHIR API for scheduling: Location (sites, wards, bays, beds with the bed board's state, clinics'
places), Schedule (clinics), Slot, Appointment (read, search, create into a free slot, 409 when it was
just taken) and Encounter (admissions and attendances). Every response is checked with fhir.resources
R4B (the test settings validate each one as it is sent, and body_of again)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from epr.audit.selectors import describe
from epr.fhir.resources import instant
from records import services as records_services
from records.models import Encounter
from scheduling.fhir import appointments as fhir
from scheduling.fhir import locations as fhir_locations
from scheduling.fhir.encounters import PARTICIPATION
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BedCondition,
    BedState,
    Clinic,
    ClinicSession,
    SessionStatus,
    Slot,
    SlotStatus,
)
from scheduling.rules.sessions import CLINIC_TIME
from tests.factories import BedFactory, PatientFactory
from tests.support import FHIR_JSON, assert_outcome, body_of, signed_in, third_party_testdata, token_client

pytestmark = pytest.mark.django_db

RXX = "https://fhir.rxx.nhs.uk/Id"


# --- Fixtures and helpers -------------------------------------------------------------------------


def _london(day: Any, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CLINIC_TIME).astimezone(UTC)


@pytest.fixture
def clinic(doctor, ward) -> Clinic:
    return Clinic.objects.create(
        code="CARD1",
        name="Cardiology clinic",
        specialty="320",
        consultant=doctor,
        site=ward.site,
        location="Outpatients B, room 4",
        staff_group=Group.objects.create(name="clinic:CARD1"),
    )


def make_session(clinic: Clinic, day: Any, *types: str, status: str = SessionStatus.PLANNED) -> list[Slot]:
    session = ClinicSession.objects.create(
        clinic=clinic, starts_at=_london(day, 9), ends_at=_london(day, 12), status=status
    )
    return [
        Slot.objects.create(
            session=session,
            starts_at=_london(day, 9, 15 * i),
            ends_at=_london(day, 9, 15 * i + 15),
            slot_type=slot_type,
        )
        for i, slot_type in enumerate(types)
    ]


@pytest.fixture
def tomorrow() -> Any:
    return timezone.localdate() + timedelta(days=1)


@pytest.fixture
def slots(clinic, tomorrow) -> list[Slot]:
    """Tomorrow 09:00 new, 09:15 follow-up, 09:30 telephone."""
    return make_session(clinic, tomorrow, "new", "follow-up", "telephone")


def book(slot: Slot, patient: Any, by: Any, status: str = AppointmentStatus.BOOKED) -> Appointment:
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BOOKED)
    return Appointment.objects.create(
        slot=slot,
        patient=patient,
        booked_by=by,
        booked_at=timezone.now(),
        status=status,
        notes="Bring letters",
    )


@pytest.fixture
def booked(slots, admitted, clerk) -> Appointment:
    return book(slots[1], admitted.patient, clerk)


def read(client: Client, resource_type: str, id: Any) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}/{id}")
    assert response.status_code == 200, response.content
    return body_of(response, resource_type)


def search(client: Client, resource_type: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    return body_of(response, "Bundle")


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def post(client: Client, body: Any) -> Any:
    return client.post("/fhir/Appointment", json.dumps(body), content_type=FHIR_JSON)


def queries(run: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


# --- Location -------------------------------------------------------------------------------------


def test_sites_wards_bays_and_beds_read_as_uk_core_locations(admitted, ward, bed, nurse):
    client = signed_in(nurse)

    site = read(client, "Location", f"site-{ward.site_id}")
    as_ward = read(client, "Location", f"ward-{ward.pk}")
    bay = read(client, "Location", f"bay-{bed.bay_id}")
    as_bed = read(client, "Location", f"bed-{bed.pk}")

    assert as_bed["meta"] == {"profile": [fhir_locations.PROFILE]}
    assert site["identifier"] == [{"system": fhir_locations.ODS_SITE_SYSTEM, "value": ward.site.code}]
    assert site["physicalType"]["coding"][0]["code"] == "si"
    assert as_ward["identifier"] == [{"system": f"{RXX}/ward", "value": "W7"}]
    assert as_ward["partOf"] == {"reference": f"Location/site-{ward.site_id}", "display": ward.site.name}
    assert bay["partOf"]["reference"] == f"Location/ward-{ward.pk}"
    assert (bay["name"], bay["physicalType"]["coding"][0]["code"]) == ("Bay A", "ro")
    assert as_bed["name"] == "Bay A bed 1"
    assert as_bed["partOf"]["reference"] == f"Location/bay-{bed.bay_id}"
    assert as_bed["physicalType"]["coding"][0]["code"] == "bd"
    assert as_bed["operationalStatus"] == {
        "system": fhir_locations.BED_STATUS,
        "code": "O",
        "display": "Occupied",
    }
    assert as_bed["managingOrganization"]["identifier"]["value"] == "RXX"
    assert "patient" not in json.dumps(as_bed).lower()


@pytest.mark.parametrize(
    ("condition", "code", "blocked"),
    [
        (None, "U", False),
        (BedCondition.AVAILABLE, "U", False),
        (BedCondition.CLEANING, "H", False),
        (BedCondition.BLOCKED, "C", True),
        (BedCondition.CLOSED, "C", False),
    ],
)
def test_an_empty_beds_operational_status_is_the_bed_boards(bed, nurse, manager, condition, code, blocked):
    if condition:
        BedState.objects.create(bed=bed, condition=condition, changed_by=manager, changed_at=timezone.now())

    body = read(signed_in(nurse), "Location", f"bed-{bed.pk}")

    assert body["operationalStatus"]["code"] == code
    assert body["description"].endswith("(Blocked)") is blocked


def test_a_clinics_place_is_a_location_at_its_site(clinic, nurse):
    body = read(signed_in(nurse), "Location", f"clinic-{clinic.pk}")

    assert body["name"] == "Cardiology clinic"
    assert body["description"] == "Outpatients B, room 4"
    assert body["identifier"] == [{"system": f"{RXX}/clinic-code", "value": "CARD1"}]
    assert body["partOf"]["reference"] == f"Location/site-{clinic.site_id}"


@pytest.mark.parametrize("id", ["ward-999999", "ward-x", "room-1", "7", "bed-"])
def test_unknown_locations_are_404(ward, nurse, id):
    assert_outcome(signed_in(nurse).get(f"/fhir/Location/{id}"), 404, "not-found")


def test_location_search_by_part_type_status_and_name(
    admitted, ward, bed, second_bed, other_bed, clinic, nurse, manager
):
    BedState.objects.create(
        bed=second_bed, condition=BedCondition.CLEANING, changed_by=manager, changed_at=timezone.now()
    )
    loose = BedFactory(bay=None, ward=ward, label="SR1")
    client = signed_in(nurse)

    def found(**params: Any) -> set[str]:
        return set(ids(search(client, "Location", **params)))

    assert found(partof=f"Location/ward-{ward.pk}") == {f"bay-{bed.bay_id}", f"bed-{loose.pk}"}
    assert found(partof=f"bay-{bed.bay_id}") == {f"bed-{bed.pk}", f"bed-{second_bed.pk}"}
    assert found(partof=f"Location/site-{ward.site_id}") == {f"ward-{ward.pk}", f"clinic-{clinic.pk}"}
    assert found(**{"physical-type": "wa"}) == {f"ward-{ward.pk}", f"ward-{other_bed.ward_id}"}
    beds = {f"bed-{b.pk}" for b in (bed, second_bed, other_bed, loose)}
    assert found(**{"physical-type": f"{fhir_locations.PHYSICAL_TYPE}|bd"}) == beds
    assert found(**{"operational-status": "O"}) == {f"bed-{bed.pk}"}
    assert found(**{"operational-status": "H"}) == {f"bed-{second_bed.pk}"}
    assert found(**{"operational-status": f"{fhir_locations.BED_STATUS}|U"}) == {
        f"bed-{other_bed.pk}",
        f"bed-{loose.pk}",
    }
    assert found(**{"operational-status": "U,H", "partof": f"bay-{bed.bay_id}"}) == {f"bed-{second_bed.pk}"}
    assert found(name="ward 7") == {f"ward-{ward.pk}"}
    assert found(name="SR") == {f"bed-{loose.pk}"}


def test_location_search_pages_across_kinds(ward, bed, second_bed, clinic, nurse):
    client = signed_in(nurse)
    everything = ids(search(client, "Location", _count=200))

    paged: list[str] = []
    url = "/fhir/Location?_count=2"
    while url:
        bundle = body_of(client.get(url), "Bundle")
        paged += ids(bundle)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "").removeprefix(
            "http://testserver"
        )

    assert paged == everything
    assert everything[0].startswith("site-") and everything[-1].startswith("clinic-")
    assert len(everything) == 6  # a site, a ward, a bay, two beds, a clinic


def test_location_search_queries_do_not_grow_with_the_beds(admitted, ward, bed, nurse, manager):
    client = signed_in(nurse)
    few = queries(lambda: search(client, "Location", _count=200))
    for _ in range(5):
        extra = BedFactory(bay=bed.bay)
        BedState.objects.create(
            bed=extra, condition=BedCondition.BLOCKED, changed_by=manager, changed_at=timezone.now()
        )

    assert queries(lambda: search(client, "Location", _count=200)) == few


@pytest.mark.parametrize(
    "params",
    [{"partof": "Ward/1"}, {"address": "Leeds"}, {"name": ["a", "b"]}, {"_count": "0"}, {"partof": "ward-x"}],
)
def test_bad_location_searches_are_400(ward, nurse, params):
    assert_outcome(signed_in(nurse).get("/fhir/Location", params), 400)


def test_location_reads_and_searches_are_audited_without_a_patient(ward, nurse):
    client = signed_in(nurse)
    read(client, "Location", f"ward-{ward.pk}")
    search(client, "Location", **{"physical-type": "wa"})

    events = AuditEvent.objects.filter(user_id=nurse.pk, channel="api").order_by("id")
    assert [(describe(e), e.patient_id) for e in events] == [
        ("FHIR Location read", None),
        ("FHIR Location search", None),
    ]
    assert events[1].detail["locations"] == [f"ward-{ward.pk}"]


# --- Schedule and Slot ----------------------------------------------------------------------------


def test_a_clinic_reads_as_a_schedule(clinic, doctor, nurse):
    body = read(signed_in(nurse), "Schedule", clinic.pk)

    assert body["meta"] == {"profile": [fhir.SCHEDULE_PROFILE]}
    assert body["identifier"] == [{"system": f"{RXX}/clinic-code", "value": "CARD1"}]
    assert body["active"] is True
    assert body["specialty"] == [
        {"coding": [{"system": fhir.PRACTICE_SETTING, "code": "320"}], "text": "Cardiology"}
    ]
    assert body["actor"] == [
        {"reference": f"Location/clinic-{clinic.pk}", "display": "Cardiology clinic"},
        {"type": "Practitioner", "display": doctor.get_full_name()},
    ]


def test_schedule_search_by_actor_active_and_identifier(clinic, doctor, other_ward, nurse):
    other = Clinic.objects.create(
        code="RESP1",
        name="Chest clinic",
        specialty="340",
        consultant=doctor,
        site=other_ward.site,
        staff_group=Group.objects.create(name="clinic:RESP1"),
        active=False,
    )
    client = signed_in(nurse)

    def found(**params: Any) -> list[str]:
        return ids(search(client, "Schedule", **params))

    assert found() == [str(clinic.pk), str(other.pk)] or found() == [str(other.pk), str(clinic.pk)]
    assert found(actor=f"Location/clinic-{other.pk}") == [str(other.pk)]
    assert found(actor=f"Location/site-{clinic.site_id}") == [str(clinic.pk)]
    assert found(actor=f"Location/ward-{other_ward.pk}") == []
    assert found(active="false") == [str(other.pk)]
    assert found(identifier="CARD1") == found(identifier=f"{RXX}/clinic-code|CARD1") == [str(clinic.pk)]


def test_a_slot_reads_with_its_schedule_type_and_times(slots, booked, clinic, nurse):
    client = signed_in(nurse)

    free = read(client, "Slot", slots[0].pk)
    busy = read(client, "Slot", slots[1].pk)

    assert free["meta"] == {"profile": [fhir.SLOT_PROFILE]}
    assert free["schedule"] == {"reference": f"Schedule/{clinic.pk}", "display": "Cardiology clinic"}
    assert free["status"] == "free" and busy["status"] == "busy"
    assert free["serviceType"] == [
        {"coding": [{"system": f"{RXX}/slot-type", "code": "new", "display": "New"}], "text": "New"}
    ]
    assert free["start"] == instant(timezone.localtime(slots[0].starts_at))
    assert free["end"] == instant(timezone.localtime(slots[0].ends_at))


def test_slot_search_by_schedule_start_status_and_service_type(
    slots, booked, clinic, doctor, tomorrow, nurse
):
    cancelled = make_session(clinic, tomorrow + timedelta(days=7), "new", status=SessionStatus.CANCELLED)
    client = signed_in(nurse)
    later = [s.pk for s in make_session(clinic, tomorrow + timedelta(days=14), "follow-up")]

    def found(**params: Any) -> list[int]:
        return [int(i) for i in ids(search(client, "Slot", **params))]

    every = [s.pk for s in slots] + [cancelled[0].pk] + later
    assert found(schedule=f"Schedule/{clinic.pk}") == found(schedule=clinic.pk) == every
    assert found(schedule=999999) == []
    assert found(status="free") == [slots[0].pk, slots[2].pk, *later]
    assert found(status="busy") == [slots[1].pk]
    assert found(status=f"{fhir.SLOT_STATUS}|busy-unavailable") == [cancelled[0].pk]
    assert found(status="free", **{"service-type": "follow-up"}) == later
    assert found(**{"service-type": f"{RXX}/slot-type|telephone"}) == [slots[2].pk]
    assert found(**{"service-type": "http://example.org|new"}) == []
    day = tomorrow.isoformat()
    assert found(start=day) == [s.pk for s in slots]
    assert found(start=f"{day}T09:15") == [slots[1].pk]
    assert found(start=[f"ge{day}T09:15", f"lt{day}T09:30"]) == [slots[1].pk]
    assert found(start=f"gt{day}", status="free") == later


def test_slot_search_pages_and_its_queries_do_not_grow(clinic, tomorrow, nurse):
    client = signed_in(nurse)
    make_session(clinic, tomorrow, "new", "new")
    few = queries(lambda: search(client, "Slot", status="free"))
    for week in range(1, 4):
        make_session(clinic, tomorrow + timedelta(days=7 * week), "new", "follow-up", "video")

    assert queries(lambda: search(client, "Slot", status="free")) == few
    first = search(client, "Slot", status="free", _count=4)
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = body_of(client.get(link.removeprefix("http://testserver")), "Bundle")
    assert first["total"] == 11 and len(ids(first)) == 4 and len(ids(second)) == 4
    assert not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize(
    "params",
    [
        {"start": "tomorrow"},
        {"schedule": "Location/1"},
        {"date": "2026"},
        {"status": ["free", "busy"], "schedule": ["1", "2"]},
    ],
)
def test_bad_slot_searches_are_400(clinic, nurse, params):
    assert_outcome(signed_in(nurse).get("/fhir/Slot", params), 400)


def test_schedule_and_slot_reads_are_audited_without_a_patient(slots, clinic, nurse):
    client = signed_in(nurse)
    read(client, "Schedule", clinic.pk)
    read(client, "Slot", slots[0].pk)
    search(client, "Slot", schedule=clinic.pk)

    events = AuditEvent.objects.filter(user_id=nurse.pk, channel="api").order_by("id")
    assert [describe(e) for e in events] == ["FHIR Schedule read", "FHIR Slot read", "FHIR Slot search"]
    assert {e.patient_id for e in events} == {None}


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["system/*.read"], 200),
        (["system/Location.read", "system/Schedule.read", "system/Slot.read"], 200),
        (["system/Appointment.read", "system/Location.write"], 403),
    ],
)
def test_system_clients_need_the_read_scope_for_places_and_slots(client, slots, clinic, ward, scopes, status):
    api = token_client(client, "Booking portal", scopes)

    for url in (
        f"/fhir/Location/ward-{ward.pk}",
        "/fhir/Location",
        f"/fhir/Schedule/{clinic.pk}",
        "/fhir/Slot",
    ):
        assert api.get(url).status_code == status, url


def test_no_credentials_is_401(client, slots, clinic, ward):
    for url in (
        f"/fhir/Location/ward-{ward.pk}",
        f"/fhir/Schedule/{clinic.pk}",
        f"/fhir/Slot/{slots[0].pk}",
        "/fhir/Slot",
    ):
        assert_outcome(client.get(url), 401)


# --- Appointment: read and search -----------------------------------------------------------------


def test_an_appointment_reads_as_a_uk_core_appointment(booked, admitted, clinic, doctor, nurse):
    body = read(signed_in(nurse), "Appointment", booked.pk)

    slot = booked.slot
    assert body["meta"]["profile"] == [fhir.APPOINTMENT_PROFILE]
    assert body["status"] == "booked"
    assert body["slot"] == [{"reference": f"Slot/{slot.pk}"}]
    assert body["start"] == instant(timezone.localtime(slot.starts_at))
    assert body["serviceType"][0]["coding"][0]["code"] == "follow-up"
    assert body["comment"] == "Bring letters"
    assert body["participant"] == [
        {
            "actor": {"reference": f"Patient/{admitted.patient_id}"},
            "required": "required",
            "status": "accepted",
        },
        {
            "actor": {"reference": f"Location/clinic-{clinic.pk}", "display": "Cardiology clinic"},
            "status": "accepted",
        },
        {"actor": {"type": "Practitioner", "display": doctor.get_full_name()}, "status": "accepted"},
    ]


@pytest.mark.parametrize(
    ("status", "fhir_status", "reason"),
    [
        (AppointmentStatus.ARRIVED, "arrived", None),
        (AppointmentStatus.SEEN, "fulfilled", None),
        (AppointmentStatus.DNA, "noshow", None),
        (AppointmentStatus.COULD_NOT_WAIT, "cancelled", "The patient could not wait"),
    ],
)
def test_appointment_statuses(booked, nurse, status, fhir_status, reason):
    Appointment.objects.filter(pk=booked.pk).update(status=status)

    body = read(signed_in(nurse), "Appointment", booked.pk)

    assert body["status"] == fhir_status
    assert body.get("cancelationReason", {}).get("text") == reason


def test_a_cancelled_appointment_says_who_cancelled_and_why(booked, nurse):
    Appointment.objects.filter(pk=booked.pk).update(
        status=AppointmentStatus.CANCELLED, cancelled_by="patient", cancel_reason="On holiday"
    )

    body = read(signed_in(nurse), "Appointment", booked.pk)

    assert (body["status"], body["cancelationReason"]["text"]) == (
        "cancelled",
        "Cancelled by the patient: On holiday",
    )


def test_appointment_read_is_audited_against_the_patient(booked, admitted, nurse):
    read(signed_in(nurse), "Appointment", booked.pk)

    event = AuditEvent.objects.get(action=Action.VIEW, user_id=nurse.pk, channel="api")
    assert event.patient_id == admitted.patient_id
    assert describe(event) == "FHIR Appointment read"


def test_appointment_search_by_patient_date_status_and_actor(
    slots, booked, admitted, clinic, clerk, tomorrow, nurse
):
    patient = admitted.patient
    first = book(slots[0], patient, clerk, status=AppointmentStatus.CANCELLED)
    later = book(make_session(clinic, tomorrow + timedelta(days=7), "new")[0], patient, clerk)
    someone_else = book(slots[2], PatientFactory(), clerk)
    client = signed_in(nurse)

    def found(**params: Any) -> list[int]:
        return [int(i) for i in ids(search(client, "Appointment", patient=patient.pk, **params))]

    assert found() == [first.pk, booked.pk, later.pk]
    assert found(_sort="-date") == [later.pk, booked.pk, first.pk]
    assert found(status="booked") == [booked.pk, later.pk]
    assert found(status=f"{fhir.APPOINTMENT_STATUS}|cancelled") == [first.pk]
    assert found(date=tomorrow.isoformat()) == [first.pk, booked.pk]
    assert found(date=f"gt{tomorrow.isoformat()}") == [later.pk]
    assert found(actor=f"Location/clinic-{clinic.pk}") == [first.pk, booked.pk, later.pk]
    assert found(actor=f"Location/site-{clinic.site_id + 1000}") == []
    assert found(actor=f"Patient/{someone_else.patient_id}") == []
    event = AuditEvent.objects.filter(action=Action.SEARCH, user_id=nurse.pk).order_by("id").first()
    assert event.patient_id == patient.pk
    assert describe(event) == "FHIR Appointment search"
    assert event.detail["appointments"] == [str(first.pk), str(booked.pk), str(later.pk)]


def test_a_system_client_searches_a_clinics_appointments_across_patients(
    client, slots, booked, clerk, clinic
):
    other = book(slots[2], PatientFactory(), clerk)
    api = token_client(client, "Clinic display", ["system/Appointment.read"])

    bundle = search(api, "Appointment", actor=f"Location/clinic-{clinic.pk}", status="booked")

    assert ids(bundle) == [str(booked.pk), str(other.pk)]
    rows = AuditEvent.objects.filter(api_client="Clinic display", action=Action.SEARCH)
    assert {e.patient_id for e in rows} == {booked.patient_id, other.patient_id}


def test_staff_must_search_one_patients_appointments(booked, nurse):
    assert_outcome(signed_in(nurse).get("/fhir/Appointment", {"status": "booked"}), 400, "required")


@pytest.mark.parametrize(
    "params", [{"actor": "Schedule/1"}, {"actor": "Location/ward"}, {"date": "soon"}, {"_sort": "status"}]
)
def test_bad_appointment_searches_are_400(booked, admitted, nurse, params):
    response = signed_in(nurse).get("/fhir/Appointment", {"patient": admitted.patient_id, **params})
    assert_outcome(response, 400)


def test_appointment_search_queries_do_not_grow(client, clinic, admitted, clerk, tomorrow, nurse):
    patient = admitted.patient
    book(make_session(clinic, tomorrow, "new")[0], patient, clerk)
    staff = signed_in(nurse)
    api = token_client(client, "Feed", ["system/*.read"])
    search(api, "Appointment")  # a bearer token is looked up once, then remembered
    few = (
        queries(lambda: search(staff, "Appointment", patient=patient.pk)),
        queries(lambda: search(api, "Appointment")),
    )
    for week in range(1, 5):
        book(
            make_session(clinic, tomorrow + timedelta(days=7 * week), "new")[0],
            PatientFactory() if week % 2 else patient,
            clerk,
        )

    many = (
        queries(lambda: search(staff, "Appointment", patient=patient.pk)),
        queries(lambda: search(api, "Appointment")),
    )
    assert few == many


def test_an_outsider_is_refused_and_audited(booked, admitted, outsider):
    client = signed_in(outsider)

    body = assert_outcome(client.get(f"/fhir/Appointment/{booked.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/Appointment", {"patient": admitted.patient_id}), 403, "forbidden")
    assert_outcome(client.get(f"/fhir/Encounter/adm-{admitted.pk}"), 403, "forbidden")
    assert_outcome(client.get("/fhir/Encounter", {"patient": admitted.patient_id}), 403, "forbidden")

    assert "no care relationship" in body["issue"][0]["diagnostics"]
    denied = AuditEvent.objects.filter(user_id=outsider.pk, action=Action.DENIED)
    assert [e.patient_id for e in denied] == [admitted.patient_id] * 4


def test_a_clerk_reads_appointments_by_role(booked, clerk):
    assert read(signed_in(clerk), "Appointment", booked.pk)["status"] == "booked"


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["system/*.read"], 200),
        (["system/Appointment.read"], 200),
        (["system/Slot.read", "system/Appointment.write"], 403),
    ],
)
def test_system_clients_need_the_appointment_read_scope(client, booked, scopes, status):
    api = token_client(client, "Portal", scopes)

    assert api.get(f"/fhir/Appointment/{booked.pk}").status_code == status
    assert api.get("/fhir/Appointment").status_code == status


# --- Appointment: create --------------------------------------------------------------------------


@pytest.fixture
def booker(clerk):
    clerk.user_permissions.add(Permission.objects.get(codename="book_appointment"))
    return clerk


def appointment_body(free: Slot, patient_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{free.pk}"}],
        "comment": "Booked by the portal",
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
        **changes,
    }


def test_staff_who_may_book_create_an_appointment_in_a_free_slot(slots, patient, booker):
    response = post(signed_in(booker), appointment_body(slots[0], patient.pk))

    assert response.status_code == 201, response.content
    body = body_of(response, "Appointment")
    appointment = Appointment.objects.get(pk=body["id"])
    assert (appointment.slot_id, appointment.patient_id, appointment.booked_by_id) == (
        slots[0].pk,
        patient.pk,
        booker.pk,
    )
    assert appointment.notes == "Booked by the portal"
    assert response["Location"].endswith(f"/fhir/Appointment/{appointment.pk}")
    assert body["status"] == "booked"
    assert Slot.objects.get(pk=slots[0].pk).status == SlotStatus.BOOKED
    created = AuditEvent.objects.get(action=Action.CREATE, object_type="scheduling.Appointment")
    assert (created.patient_id, created.channel, describe(created)) == (
        patient.pk,
        "api",
        "FHIR Appointment create",
    )


def test_a_slot_just_taken_is_a_409_conflict_and_nothing_is_booked(slots, booked, patient, booker):
    response = post(signed_in(booker), appointment_body(slots[1], patient.pk))

    body = assert_outcome(response, 409, "conflict")
    assert "booked by someone else" in body["issue"][0]["diagnostics"]
    assert body["issue"][0]["expression"] == ["Appointment.slot"]
    assert list(Appointment.objects.filter(slot=slots[1]).values_list("pk", flat=True)) == [booked.pk]


def test_a_slot_of_a_cancelled_session_is_refused_with_the_reason(clinic, tomorrow, patient, booker):
    (slot,) = make_session(clinic, tomorrow, "new", status=SessionStatus.CANCELLED)

    body = assert_outcome(post(signed_in(booker), appointment_body(slot, patient.pk)), 422, "business-rule")

    assert "no longer available" in body["issue"][0]["diagnostics"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"slot": []}, 400),
        ({"slot": [{"reference": "Slot/999999"}]}, 422),
        ({"status": "proposed"}, 422),
        ({"participant": [{"actor": {"reference": "Location/clinic-1"}, "status": "accepted"}]}, 400),
        ({"participant": [{"actor": {"reference": "Patient/999999"}, "status": "accepted"}]}, 404),
    ],
)
def test_bad_appointments_are_refused(slots, patient, booker, change, status):
    assert_outcome(post(signed_in(booker), appointment_body(slots[0], patient.pk, **change)), status)
    assert not Appointment.objects.exists()


def test_staff_who_may_not_book_are_refused(client, slots, patient, nurse):
    assert_outcome(post(signed_in(nurse), appointment_body(slots[0], patient.pk)), 403, "forbidden")
    assert not Appointment.objects.exists()


def test_a_system_client_with_the_write_scope_books_as_itself(client, slots, patient):
    api = token_client(client, "Patient portal", ["system/Appointment.write", "system/Appointment.read"])
    answer = post(api, appointment_body(slots[0], patient.pk))
    assert answer.status_code == 201, answer.content
    booked = Appointment.objects.get()
    assert booked.booked_by is None and booked.booked_by_client == "Patient portal"
    slots[0].refresh_from_db()
    assert slots[0].status == "booked"
    reader = token_client(client, "Reader", ["system/Appointment.read"])
    refused = post(reader, appointment_body(slots[1], patient.pk))
    assert refused.status_code == 403 and Appointment.objects.count() == 1


def test_two_bookings_of_one_slot_at_once_one_wins_the_other_is_409(transactional_db, slots, patient, booker):
    other = PatientFactory()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def book_for(patient_id: int) -> None:
        try:
            client = signed_in(booker)
            barrier.wait()
            statuses.append(post(client, appointment_body(slots[0], patient_id)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=book_for, args=(p.pk,)) for p in (patient, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [201, 409]
    assert Appointment.objects.filter(slot=slots[0]).count() == 1


# --- Encounter ------------------------------------------------------------------------------------


def test_an_admission_reads_as_an_inpatient_encounter_with_its_ward_stays(
    admitted, ward, bed, other_bed, doctor, clerk, nurse
):
    records_services.encounter_transfer(
        transferred_by=clerk, encounter=admitted, ward=other_bed.ward, bed=other_bed, reason="Step-down"
    )
    client = signed_in(nurse)

    body = read(client, "Encounter", f"adm-{admitted.pk}")

    assert body["meta"]["profile"] == ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter"]
    assert body["identifier"] == [{"system": f"{RXX}/encounter", "value": str(admitted.pk)}]
    assert body["status"] == "in-progress"
    assert body["class"]["code"] == "IMP"
    assert body["subject"] == {"reference": f"Patient/{admitted.patient_id}"}
    assert body["participant"] == [
        {
            "type": [{"coding": [{"system": PARTICIPATION, "code": "ATND", "display": "attender"}]}],
            "individual": {"type": "Practitioner", "display": doctor.get_full_name()},
        }
    ]
    assert [(loc["location"]["reference"], loc["status"]) for loc in body["location"]] == [
        (f"Location/bed-{bed.pk}", "completed"),
        (f"Location/bed-{other_bed.pk}", "active"),
    ]
    assert body["period"]["start"] == instant(timezone.localtime(admitted.admitted_at))


def test_an_attendance_reads_as_an_ambulatory_encounter(booked, clinic, nurse):
    Appointment.objects.filter(pk=booked.pk).update(status=AppointmentStatus.SEEN)

    body = read(signed_in(nurse), "Encounter", f"att-{booked.pk}")

    assert (body["status"], body["class"]["code"]) == ("finished", "AMB")
    assert body["appointment"] == [{"reference": f"Appointment/{booked.pk}"}]
    assert body["location"] == [
        {"location": {"reference": f"Location/clinic-{clinic.pk}", "display": "Cardiology clinic"}}
    ]
    assert body["period"]["end"] == instant(timezone.localtime(booked.slot.ends_at))


@pytest.mark.parametrize("id", ["adm-999999", "att-x", "12", "adm-"])
def test_unknown_encounters_and_booked_appointments_are_not_encounters(booked, nurse, id):
    assert_outcome(signed_in(nurse).get(f"/fhir/Encounter/{id}"), 404, "not-found")
    assert_outcome(signed_in(nurse).get(f"/fhir/Encounter/att-{booked.pk}"), 404, "not-found")


def test_encounter_search_by_patient_class_status_and_date(
    slots, booked, admitted, clinic, clerk, tomorrow, nurse
):
    patient = admitted.patient
    past = timezone.now() - timedelta(days=60)
    old = Encounter.objects.create(
        patient=patient,
        status="finished",
        admitted_at=past,
        discharged_at=past + timedelta(days=3),
        admission_method="21",
        specialty="300",
        consultant=admitted.consultant,
        admitted_by=clerk,
        discharge_destination="19",
    )
    Appointment.objects.filter(pk=booked.pk).update(status=AppointmentStatus.ARRIVED)
    phoned = book(slots[2], patient, clerk, status=AppointmentStatus.SEEN)
    client = signed_in(nurse)

    def found(**params: Any) -> list[str]:
        return ids(search(client, "Encounter", patient=f"Patient/{patient.pk}", **params))

    newest = [f"att-{phoned.pk}", f"att-{booked.pk}", f"adm-{admitted.pk}", f"adm-{old.pk}"]
    assert found() == newest
    assert found(_sort="date") == newest[::-1]
    assert found(**{"class": "IMP"}) == [f"adm-{admitted.pk}", f"adm-{old.pk}"]
    assert found(**{"class": "VR"}) == [f"att-{phoned.pk}"]
    assert found(**{"class": "AMB"}) == [f"att-{booked.pk}"]
    assert found(status="finished") == [f"att-{phoned.pk}", f"adm-{old.pk}"]
    assert found(status="in-progress,arrived") == [f"att-{booked.pk}", f"adm-{admitted.pk}"]
    assert found(date=f"lt{timezone.localdate().isoformat()}") == [f"adm-{old.pk}"]
    assert found(date=tomorrow.isoformat()) == [f"att-{phoned.pk}", f"att-{booked.pk}"]
    two = search(client, "Encounter", patient=patient.pk, _count=2)
    link = next(link["url"] for link in two["link"] if link["relation"] == "next")
    rest = body_of(client.get(link.removeprefix("http://testserver")), "Bundle")
    assert ids(two) + ids(rest) == newest and two["total"] == 4
    event = AuditEvent.objects.filter(action=Action.SEARCH, user_id=nurse.pk).order_by("id").first()
    assert (event.patient_id, describe(event)) == (patient.pk, "FHIR Encounter search")
    read(client, "Encounter", f"adm-{old.pk}")
    viewed = AuditEvent.objects.get(action=Action.VIEW, user_id=nurse.pk, channel="api")
    assert (viewed.patient_id, describe(viewed)) == (patient.pk, "FHIR Encounter read")


def test_encounter_search_queries_do_not_grow(client, slots, admitted, clinic, clerk, tomorrow, nurse, ward):
    patient = admitted.patient
    staff = signed_in(nurse)
    api = token_client(client, "Warehouse", ["system/Encounter.read"])
    search(api, "Encounter")
    book(slots[0], patient, clerk, status=AppointmentStatus.SEEN)
    few = (
        queries(lambda: search(staff, "Encounter", patient=patient.pk)),
        queries(lambda: search(api, "Encounter")),
    )
    for week in range(1, 4):
        book(
            make_session(clinic, tomorrow + timedelta(days=7 * week), "new")[0],
            patient,
            clerk,
            status="arrived",
        )
        other = PatientFactory()
        records_services.encounter_admit(
            admitted_by=clerk,
            patient=other,
            ward=ward,
            bed=BedFactory(bay__ward=ward),
            consultant=admitted.consultant,
            team=None,
            specialty="300",
            admission_method="21",
        )

    many = (
        queries(lambda: search(staff, "Encounter", patient=patient.pk)),
        queries(lambda: search(api, "Encounter")),
    )
    assert few == many


def test_staff_must_search_one_patients_encounters(admitted, nurse):
    assert_outcome(signed_in(nurse).get("/fhir/Encounter", {"class": "IMP"}), 400, "required")


UKCORE = "ukcore/json_derived"


def _example(name: str) -> dict[str, Any]:
    path = third_party_testdata(f"{UKCORE}/UKCore-{name}-Example.json", "UK Core example resources")
    return json.loads(path.read_text())


def test_our_shapes_agree_with_the_uk_core_examples(slots, booked, admitted, ward, clinic, nurse):
    client = signed_in(nurse)
    site = read(client, "Location", f"site-{ward.site_id}")
    schedule = read(client, "Schedule", clinic.pk)
    slot = read(client, "Slot", slots[0].pk)
    appointment = read(client, "Appointment", booked.pk)
    encounter = read(client, "Encounter", f"adm-{admitted.pk}")

    hospital = _example("Location-HospitalSJUH")
    assert site["identifier"][0]["system"] == hospital["identifier"][0]["system"]
    assert site["type"][0]["coding"][0]["code"] == hospital["type"][0]["coding"][0]["code"]
    for ours, theirs in (
        (schedule, _example("Schedule-Immunization")),
        (slot, _example("Slot-AvailableWalkInVisit")),
    ):
        assert ours["specialty"][0]["coding"][0]["system"] == theirs["specialty"][0]["coding"][0]["system"]
    assert slot["status"] == _example("Slot-AvailableWalkInVisit")["status"]
    assert schedule["actor"][0]["reference"].startswith("Location/")
    orthopaedic = _example("Appointment-OrthopaedicSurgery")
    assert appointment["status"] == orthopaedic["status"]
    assert (
        appointment["specialty"][0]["coding"][0]["system"]
        == orthopaedic["specialty"][0]["coding"][0]["system"]
    )
    inpatient = _example("Encounter-InpatientEncounter")
    assert encounter["class"] == inpatient["class"]


def test_the_capability_statement_lists_the_scheduling_resources(client):
    body = body_of(client.get("/fhir/metadata"), "CapabilityStatement")

    found = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {"Location", "Schedule", "Slot", "Appointment", "Encounter"} <= set(found)
    assert [i["code"] for i in found["Appointment"]["interaction"]] == ["read", "search-type", "create"]
    assert {p["name"] for p in found["Slot"]["searchParam"]} >= {
        "schedule",
        "start",
        "status",
        "service-type",
    }
