"""Scheduling benchmark: 50 clinics with a year of sessions and a 40-ward hospital on top of 100,000
patients, measured through the full stack (issue 12).

Run the whole thing:

    .venv/bin/python benchmarks/scheduling.py

or a quick check that it works (5,000 patients, 20 requests each): `.venv/bin/python
benchmarks/scheduling.py --quick`.

It uses the same database as `make bench` (benchmarks/patient_index.py), `epr_bench`, never the
development data, and rebuilds it: migrate from scratch, then the same 100,000 patients (patient_index's
loader, with no admissions: its three empty wards are closed, so the board is the 40-ward hospital).
The benchmarks reset the same database, so do not run them at the same time.

Then, by COPY (the services are not used: 48,000 slots one session at a time would take minutes; the
rows are what the services leave behind, without their history rows):
- 50 clinics (a consultant each, the clinic's staff group as clinic_create makes it), each with two
  weekly session templates on different weekdays (a morning of 15- or 20-minute follow-ups and an
  afternoon of 30-minute new appointments), and their sessions and slots for a year from today as
  scheduling/rules/sessions.py lays them (bank holidays skipped): about 5,000 sessions, 48,000 slots;
- about 30% of the slots booked: an Appointment (booked) for a random patient, the slot marked booked;
- a 40-ward hospital on one new site: 5 bays of 5 beds a ward (1,000 beds), 85% occupied by admitted
  patients (an active Encounter and its current WardStay in the bed, an expected discharge date for
  most), and of the free beds 30 awaiting cleaning, 15 blocked and 5 closed (BedState rows);
- 50 bed requests waiting (from the emergency department, theatres, the assessment unit).
Then ANALYZE.

Measured (--requests each, through django.test.Client: the full middleware stack):
- the free-slot search page (GET /clinics/slots/?date_from=<today>&date_to=<today+42d>) as a ward clerk,
  a different page of results each time: 200 and a table of free slots;
- booking one free slot (POST /patients/<id>/appointments/book/<slot>/) as the clerk: a different free
  slot in the next six weeks and a different patient (with no appointment) each time; each must redirect
  to the new appointment and leave one booked Appointment on the slot. 2 x --requests posts after one
  warm-up: the first half with queries captured, the second timed;
- the bed board page (GET /bed-board/) and its polled fragment (GET /bed-board/fragment/) as a manager
  (who sees every name by role): all 40 wards, 50 requests waiting;
- FHIR GET /fhir/Slot?status=free&start=ge<today>&start=le<today+42d>&_count=50 as a system client
  (bearer token from POST /o/token/, scope system/Slot.read), a different page (_offset) each time.
Each GET is requested twice per input as in patient_index: once with queries captured (warm-up, check,
query count), once timed. Every GET must keep the same number of queries for every input: if one does
not, or a response is not what is expected, a FAIL line is printed and the run exits non-zero.
"""

from __future__ import annotations

# First: it points Django at epr_bench (never the development database) and sets it up.
import patient_index as base  # isort: skip

# isort: split
import argparse
import gc
import logging
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import time as dtime
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epr.accounts.models import User
from epr.accounts.roles import Role
from records.models import (
    AdmissionMethod,
    Bay,
    Bed,
    Encounter,
    Patient,
    Site,
    Specialty,
    Team,
    Ward,
    WardStay,
)
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    BedCondition,
    BedRequest,
    BedRequestSource,
    BedState,
    Clinic,
    ClinicSession,
    SessionTemplate,
    Slot,
    SlotStatus,
    SlotType,
)
from scheduling.rules import sessions as rules

CLINICS = 50
WARDS = 40
BAYS = "ABCDE"
BEDS_PER_BAY = 5
OCCUPIED = 0.85
BED_STATES = {BedCondition.CLEANING: 30, BedCondition.BLOCKED: 15, BedCondition.CLOSED: 5}
BED_REQUESTS = 50
BOOKED_SHARE = 0.30
SEARCH_DAYS = 42
DAYS = 365
COUNT = 50  # FHIR page size
SLOT_SCOPE = "system/Slot.read"
# Eager Celery still builds a broker connection once, and kombu warns that filesystem:// has no host.
logging.getLogger("kombu.connection").setLevel(logging.ERROR)


# --- loading ----------------------------------------------------------------------------------------


@dataclass
class SchedulingLoaded:
    clerk: User
    manager: User
    free_soon: list[int]  # free slot ids starting in the next six weeks (after tomorrow), shuffled
    unbooked: list[Patient]  # patients with no appointment and not in hospital
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def next_id(model: type) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def load_clinics(
    rng: random.Random, data: base.Loaded, rows: dict[str, int], seconds: dict[str, float]
) -> None:
    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    last = today + timedelta(days=DAYS - 1)
    years = {y for y in range(today.year, last.year + 1) if y in rules.BANK_HOLIDAY_YEARS}
    skip = rules.bank_holidays(*years) if years else frozenset()
    site = Site.objects.order_by("pk").first()
    specialties = list(Specialty)
    consultants = base.bulk_users("clinicdoc", Role.DOCTOR, CLINICS)
    groups = Group.objects.bulk_create([Group(name=f"clinic:CL{i:03d}") for i in range(CLINICS)])
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=c.pk, group_id=g.pk) for c, g in zip(consultants, groups, strict=True)]
    )
    clinics = Clinic.objects.bulk_create(
        [
            Clinic(
                code=f"CL{i:03d}",
                name=f"{specialties[i % len(specialties)].label} clinic {i + 1} (Dr {c.last_name})",
                specialty=specialties[i % len(specialties)].value,
                consultant=c,
                site=site,
                location=f"Outpatients {'ABCD'[i % 4]}, room {i % 12 + 1}",
                staff_group=g,
            )
            for i, (c, g) in enumerate(zip(consultants, groups, strict=True))
        ]
    )
    templates = []
    for i, clinic in enumerate(clinics):
        morning, afternoon = i % 5, (i + 2) % 5
        templates += [
            SessionTemplate(
                clinic=clinic,
                weekday=morning,
                starts=dtime(9, 0),
                ends=dtime(12, 30),
                valid_from=today,
                slot_minutes=15 if i % 2 else 20,
                slot_type=SlotType.FOLLOW_UP,
            ),
            SessionTemplate(
                clinic=clinic,
                weekday=afternoon,
                starts=dtime(13, 30),
                ends=dtime(17, 0),
                valid_from=today,
                slot_minutes=30,
                slot_type=SlotType.NEW,
            ),
        ]
    templates = SessionTemplate.objects.bulk_create(templates)
    rows["clinics, templates and staff"] = len(clinics) + len(templates) + 3 * CLINICS + len(groups)

    sessions, slots = [], []
    session_id, slot_id = next_id(ClinicSession), next_id(Slot)
    for template in templates:
        rule = rules.SessionTemplate(
            weekday=template.weekday,
            starts=template.starts,
            ends=template.ends,
            valid_from=template.valid_from,
            slots=rules.UniformSlots(template.slot_minutes, template.slot_type),
        )
        for planned in rules.sessions(rule, today, last, skip=skip):
            sessions.append(
                ClinicSession(
                    id=session_id,
                    clinic_id=template.clinic_id,
                    template=template,
                    starts_at=planned.starts_at,
                    ends_at=planned.ends_at,
                )
            )
            for s in rules.session_slots(rule, planned):
                slots.append(
                    Slot(
                        id=slot_id,
                        session_id=session_id,
                        starts_at=s.starts_at,
                        ends_at=s.ends_at,
                        slot_type=s.kind,
                    )
                )
                slot_id += 1
            session_id += 1

    # About 30% booked, for random patients (never two overlapping appointments for one patient).
    booked = rng.sample(slots, round(len(slots) * BOOKED_SHARE))
    holders = rng.sample(data.patients, min(len(data.patients) // 2, len(booked)))
    appointments = []
    appointment_id = next_id(Appointment)
    for n, slot in enumerate(booked):
        slot.status = SlotStatus.BOOKED
        appointments.append(
            Appointment(
                id=appointment_id + n,
                slot_id=slot.pk,
                patient_id=holders[n % len(holders)].pk,
                status=AppointmentStatus.BOOKED,
                booked_by=data.clerk,
                booked_at=now - timedelta(days=rng.randint(1, 60)),
            )
        )
    rows["sessions"] = base.copy_objects(sessions)
    rows["slots"] = base.copy_objects(slots)
    rows["appointments"] = base.copy_objects(appointments)
    seconds["clinics, sessions, slots, appointments"] = time.perf_counter() - started
    held = {p.pk for p in holders}
    data.unbooked_ids = [p.pk for p in data.patients if p.pk not in held]  # type: ignore[attr-defined]


def load_hospital(
    rng: random.Random, data: base.Loaded, rows: dict[str, int], seconds: dict[str, float]
) -> User:
    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    Ward.objects.update(active=False)  # the base loader's empty wards: closed, the board is the hospital's
    site = Site.objects.create(code="RXX40", name="General Hospital")
    specialties = list(Specialty)
    groups = Group.objects.bulk_create([Group(name=f"ward:H{i:02d}") for i in range(WARDS)])
    wards = Ward.objects.bulk_create(
        [
            Ward(
                site=site,
                code=f"H{i:02d}",
                staff_group=g,
                name=f"{specialties[i % len(specialties)].label} ward {i + 1}",
            )
            for i, g in enumerate(groups)
        ]
    )
    bays = Bay.objects.bulk_create([Bay(ward=w, name=f"Bay {b}") for w in wards for b in BAYS])
    beds = Bed.objects.bulk_create(
        [
            Bed(ward_id=bay.ward_id, bay=bay, label=f"{bay.name[-1]}{i}")
            for bay in bays
            for i in range(1, BEDS_PER_BAY + 1)
        ]
    )
    manager = base.bulk_users("manager", Role.MANAGER, 1)[0]
    teams = list(Team.objects.order_by("pk"))
    unbooked: list[int] = data.unbooked_ids  # type: ignore[attr-defined]
    in_hospital = rng.sample(unbooked, round(len(beds) * OCCUPIED) + BED_REQUESTS)
    occupied = rng.sample(beds, round(len(beds) * OCCUPIED))
    encounters, stays = [], []
    encounter_id, stay_id = next_id(Encounter), next_id(WardStay)
    methods = [m.value for m in AdmissionMethod]
    for n, (patient_id, bed) in enumerate(zip(in_hospital, occupied, strict=False)):
        team = teams[bed.ward_id % len(teams)]
        at = now - timedelta(minutes=rng.randint(60, 21 * 24 * 60))
        encounters.append(
            Encounter(
                id=encounter_id + n,
                patient_id=patient_id,
                status="active",
                admitted_at=at,
                admission_method=rng.choice(methods),
                specialty=team.specialty,
                consultant_id=team.consultant_id,
                team=team,
                admitted_by=data.clerk,
                expected_discharge_date=today + timedelta(days=rng.randint(0, 10))
                if rng.random() < 0.8
                else None,
            )
        )
        stays.append(
            WardStay(
                id=stay_id + n,
                encounter_id=encounter_id + n,
                ward_id=bed.ward_id,
                bed=bed,
                started_at=at,
                moved_by=data.clerk,
            )
        )
    taken = {b.pk for b in occupied}
    free = [b for b in beds if b.pk not in taken]
    states, at = [], 0
    for condition, count in BED_STATES.items():
        for bed in free[at : at + count]:
            states.append(
                BedState(
                    bed=bed,
                    condition=condition,
                    reason="Side room: infection control" if condition != BedCondition.CLEANING else "",
                    changed_by=manager,
                    changed_at=now - timedelta(minutes=rng.randint(5, 600)),
                )
            )
        at += count
    BedState.objects.bulk_create(states)
    sources = [
        BedRequestSource.EMERGENCY,
        BedRequestSource.EMERGENCY,
        BedRequestSource.THEATRES,
        BedRequestSource.ASSESSMENT,
    ]
    requests = BedRequest.objects.bulk_create(
        [
            BedRequest(
                patient_id=patient_id,
                source=rng.choice(sources),
                specialty=rng.choice(specialties).value,
                urgent=rng.random() < 0.2,
                requested_by=data.clerk,
                requested_at=now - timedelta(minutes=rng.randint(5, 720)),
            )
            for patient_id in in_hospital[len(occupied) :]
        ]
    )
    rows["hospital (wards, bays, beds, states, requests)"] = (
        1 + len(wards) + len(groups) + len(bays) + len(beds) + len(states) + len(requests) + 2
    )
    rows["admissions"] = base.copy_objects(encounters) + base.copy_objects(stays)
    seconds["hospital and admissions"] = time.perf_counter() - started
    data.unbooked_ids = [p for p in unbooked if p not in set(in_hospital)]  # type: ignore[attr-defined]
    return manager


def load_scheduling(rng: random.Random, data: base.Loaded) -> SchedulingLoaded:
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}
    load_clinics(rng, data, rows, seconds)
    manager = load_hospital(rng, data, rows, seconds)
    started = time.perf_counter()
    base.reset_sequences([ClinicSession, Slot, Appointment, Encounter, WardStay])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds["analyze"] = time.perf_counter() - started
    now = timezone.now()
    free_soon = list(
        Slot.objects.filter(
            status=SlotStatus.FREE,
            starts_at__gt=now + timedelta(days=1),
            starts_at__lt=now + timedelta(days=SEARCH_DAYS),
        ).values_list("pk", flat=True)
    )
    rng.shuffle(free_soon)
    unbooked_ids = set(data.unbooked_ids)  # type: ignore[attr-defined]
    unbooked = [p for p in data.patients if p.pk in unbooked_ids]
    rng.shuffle(unbooked)
    return SchedulingLoaded(
        clerk=data.clerk,
        manager=manager,
        free_soon=free_soon,
        unbooked=unbooked[:1000],
        rows=rows,
        seconds=seconds,
    )


# --- measuring --------------------------------------------------------------------------------------


class Booking:
    """A free slot in the next six weeks and a patient with no appointment, a different pair each time."""

    def __init__(self, loaded: SchedulingLoaded, client: Client) -> None:
        self.slots = iter(loaded.free_soon)
        self.patients = iter(loaded.unbooked)
        self.client = client

    def book(self) -> tuple[Any, int, int]:
        slot_id, patient = next(self.slots), next(self.patients)
        path = reverse("scheduling:book_slot", args=[patient.pk, slot_id])
        return self.client.post(path, {"notes": ""}), slot_id, patient.pk

    @staticmethod
    def booked(response: Any, slot_id: int, patient_id: int) -> bool:
        made = list(
            Appointment.objects.filter(slot_id=slot_id, status=AppointmentStatus.BOOKED).values_list(
                "pk", "patient_id"
            )
        )
        if len(made) != 1 or made[0][1] != patient_id:
            return False
        expected = reverse("scheduling:appointment_detail", args=[patient_id, made[0][0]])
        return (
            response.status_code == 302
            and response["Location"] == expected
            and Slot.objects.filter(pk=slot_id, status=SlotStatus.BOOKED).exists()
        )


def measure_booking(booking: Booking, count: int) -> base.Result:
    label = "book one slot: POST book/<slot>/ (clerk)"
    failures = int(not Booking.booked(*booking.book()))  # fill per-process caches
    query_counts = []
    for _ in range(count):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            response, slot_id, patient_id = booking.book()
        query_counts.append(len(captured))
        failures += not Booking.booked(response, slot_id, patient_id)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response, slot_id, patient_id = booking.book()
        latencies.append((time.perf_counter() - started) * 1000)
        failures += not Booking.booked(response, slot_id, patient_id)
    result = base.Result(label, latencies, query_counts, failures)
    base.say(result)
    return result


def cases(loaded: SchedulingLoaded, count: int, headers: dict[str, str]) -> dict[str, list[base.Case]]:
    today = timezone.localdate()
    until = today + timedelta(days=SEARCH_DAYS)
    search = reverse("scheduling:slot_search")

    def search_path(page: int) -> str:
        return f"{search}?" + urlencode(
            {"date_from": today.isoformat(), "date_to": until.isoformat(), "page": page}
        )

    def slot_page(response: Any) -> bool:
        text = response.content.decode()
        return 'data-testid="free-slots"' in text and text.count('data-testid="free-slot"') == 25

    def board_shows(response: Any) -> bool:
        text = response.content.decode()
        return (
            'data-testid="bed-board"' in text
            and f'data-testid="waiting-count">{BED_REQUESTS}<' in text
            and len(re.findall(r'data-testid="request-\d+"', text)) == BED_REQUESTS
            and len(re.findall(r'data-testid="ward-H\d+"', text)) == WARDS
            and len(re.findall(r'data-testid="bed-\d+"', text)) == WARDS * len(BAYS) * BEDS_PER_BAY
        )

    def fhir_path(page: int) -> str:
        query = [
            ("status", "free"),
            ("start", f"ge{today.isoformat()}"),
            ("start", f"le{until.isoformat()}"),
            ("_count", COUNT),
            ("_offset", page * COUNT),
        ]
        return "/fhir/Slot?" + urlencode(query)

    def slot_bundle(response: Any) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        entries = body.get("entry", [])
        return (
            body.get("resourceType") == "Bundle"
            and len(entries) == COUNT
            and all(
                e["resource"]["resourceType"] == "Slot" and e["resource"]["status"] == "free" for e in entries
            )
        )

    board, fragment = reverse("scheduling:bed_board"), reverse("scheduling:bed_board_fragment")
    return {
        "free-slot search, 6 weeks (clerk)": [
            base.Case(loaded.clerk, search_path(n % 20 + 1), slot_page) for n in range(count)
        ],
        f"bed board, {WARDS} wards (manager)": [base.Case(loaded.manager, board, board_shows)] * count,
        "bed board fragment (manager)": [base.Case(loaded.manager, fragment, board_shows)] * count,
        "FHIR Slot?status=free&start=ge&start=le&_count=50": [
            base.Case(None, fhir_path(n % 20), slot_bundle, headers) for n in range(count)
        ],
    }


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, help="requests per measurement (50; 20 with --quick)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="5,000 patients, 20 requests")
    args = parser.parse_args()
    if args.quick:
        args.patients = 5_000
    args.requests = args.requests or (20 if args.quick else 50)
    if args.requests < 20:
        parser.error("--requests must be at least 20 (for a p95)")
    settings.EPR_FHIR_VALIDATE_RESPONSES = False  # as a server runs (the test settings turn it on)
    settings.EPR_TOKEN_CACHE_SECONDS = 3600  # see benchmarks/orders.py: constant query counts
    began = time.perf_counter()
    rng = random.Random(args.seed)
    db = connection.settings_dict
    print(
        f"Database {db['NAME']} on {db['HOST'] or 'localhost'}:{db['PORT']} (reset and migrated)", flush=True
    )
    migrate_seconds = base.reset_database()
    print(f"Migrated in {migrate_seconds:.1f} s", flush=True)
    data = base.load(rng, args.patients, 0)
    base_rows, base_seconds = sum(data.rows.values()), sum(data.seconds.values())
    print(f"Loaded {args.patients:,} patients: {base_rows:,} rows in {base_seconds:.1f} s", flush=True)
    loaded = load_scheduling(rng, data)
    data.patients.clear()  # a server process does not hold the loader's patients
    gc.collect()
    for part, secs in loaded.seconds.items():
        print(f"  {part}: {secs:.1f} s")
    counts = {
        "sessions": ClinicSession.objects.count(),
        "slots": Slot.objects.count(),
        "booked": Slot.objects.filter(status=SlotStatus.BOOKED).count(),
        "beds": Bed.objects.filter(ward__active=True).count(),
        "occupied": WardStay.objects.filter(ended_at__isnull=True, bed__isnull=False).count(),
    }
    load_note = (
        f"Scheduling: {CLINICS} clinics, {counts['sessions']:,} sessions with {counts['slots']:,} slots over "
        f"{DAYS} days ({counts['booked']:,} booked); {WARDS} wards with {counts['beds']:,} beds "
        f"({counts['occupied']:,} occupied), {sum(BED_STATES.values())} cleaning/blocked/closed, "
        f"{BED_REQUESTS} requests waiting; {sum(loaded.rows.values()):,} rows loaded and analysed in "
        f"{sum(loaded.seconds.values()):.1f} s"
    )
    print(load_note, flush=True)
    if len(loaded.free_soon) < 2 * args.requests + 1:
        print("FAIL: not enough free slots in the next six weeks for the bookings")
        return 1

    clients = base.Clients()
    reading = base.bearer(SLOT_SCOPE, benchmark="Scheduling")
    print(f"Measuring, {args.requests} requests each:", flush=True)
    results = []
    gets = cases(loaded, args.requests, reading)
    label, page = next(iter(gets.items()))
    results.append(base.measure(label, page, clients))
    booking = measure_booking(Booking(loaded, clients.get(loaded.clerk)), args.requests)
    results.append(booking)
    for label, page in list(gets.items())[1:]:
        connection.queries_log.clear()
        results.append(base.measure(label, page, clients))

    problems = []
    for r in results:
        if r is not booking and min(r.query_counts) != max(r.query_counts):
            problems.append(
                f"FAIL: {r.label}: queries vary between inputs ({r.queries}): {Counter(r.query_counts)}"
            )
        if r.failures:
            problems.append(f"FAIL: {r.label}: {r.failures} unexpected responses")

    print()
    print(f"{'measurement':<56} {'requests':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bad':>4}")
    for r in results:
        print(
            f"{r.label:<56} {len(r.latencies_ms):>8} {r.median:>10.1f} {r.p95:>8.1f} {r.queries:>8} "
            f"{r.failures:>4}"
        )
    print("queries: per request; bad: not the expected page, redirect and booked Appointment, or Bundle")
    print(load_note)
    print(
        f"Base load: {base_rows:,} rows in {base_seconds:.1f} s; migrate {migrate_seconds:.1f} s; "
        f"whole run {time.perf_counter() - began:.0f} s"
    )
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
