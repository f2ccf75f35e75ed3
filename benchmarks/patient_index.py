"""Patient index benchmark: 100,000 patients, 20,000 current admissions, measured through the full stack.

Run with `make bench`, or `.venv/bin/python benchmarks/patient_index.py --patients 5000 --admissions 1000
--requests 50` for a quick check. Request inputs are drawn from the loaded data with a fixed seed (--seed).

It uses its own database, `epr_bench`, and never touches development data:
- embedded PostgreSQL (no DATABASE_URL): EPR_DB_NAME=epr_bench on the same embedded server;
- DATABASE_URL set: the same server and credentials with the database name replaced by epr_bench
  (created if missing, so the user needs CREATEDB or an existing epr_bench).
The public schema of epr_bench is dropped and rebuilt by `migrate` on every run.

The data is bulk-loaded with COPY, not through the services, so no audit or history rows are
written for it. Each admission gets what `encounter_admit` would leave behind: an encounter, a
current ward stay in a bed, ward and team care relationships, and the guardian group object
permissions (access_patient_record) that let the ward's staff open the record.

Each page is requested twice per input: once with its SQL queries captured (warm-up, correctness
check and query count), then once timed without capture.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import secrets
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "epr_bench"


def use_bench_database() -> None:
    """Point the settings at epr_bench before Django reads them."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "epr.settings.test"
    os.environ["DEBUG"] = "0"
    url = os.environ.get("DATABASE_URL")
    if url:
        # The benchmark creates, migrates and truncates its database, so it works as the owner role.
        url = os.environ.get("DATABASE_MIGRATE_URL", url)
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DB}"))
        os.environ.pop("DATABASE_MIGRATE_URL", None)
    else:
        os.environ["EPR_DB_NAME"] = BENCH_DB


use_bench_database()

import django  # noqa: E402

django.setup()
# Quiet runs: the static files are not collected, and the FHIR probe's 404 is reported below anyway.
warnings.filterwarnings("ignore", message="No directory at")
logging.getLogger("django.request").setLevel(logging.ERROR)

import psycopg  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken  # noqa: E402
from psycopg import sql  # noqa: E402

from epr.accounts.models import User  # noqa: E402
from epr.accounts.roles import Role, group_name  # noqa: E402
from epr.accounts.services import api_client_create  # noqa: E402
from records.access import CARE_PERMISSION  # noqa: E402
from records.management.commands.seed_demo import demo_nhs_number  # noqa: E402
from records.models import (  # noqa: E402
    AdmissionMethod,
    Bay,
    Bed,
    CareRelationship,
    CareRelationshipKind,
    Encounter,
    EthnicCategory,
    Patient,
    PatientGroupObjectPermission,
    Site,
    Specialty,
    Team,
    Ward,
    WardStay,
)
from records.rules import patients as rules  # noqa: E402

# --- synthetic people ------------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


FAMILY = _names("""
    Smith, Jones, Williams, Taylor, Brown, Davies, Evans, Wilson, Thomas, Johnson, Roberts, Robinson,
    Thompson, Wright, Walker, White, Edwards, Hughes, Green, Hall, Lewis, Harris, Clarke, Patel, Jackson,
    Wood, Turner, Martin, Cooper, Hill, Ward, Morris, Moore, Clark, Lee, King, Baker, Harrison, Morgan,
    Allen, James, Scott, Phillips, Watson, Davis, Parker, Price, Bennett, Young, Griffiths, Mitchell, Kelly,
    Cook, Carter, Richardson, Bailey, Collins, Bell, Shaw, Murphy, Miller, Cox, Richards, Khan, Marshall,
    Anderson, Simpson, Ellis, Adams, Singh, Begum, Wilkinson, Foster, Chapman, Powell, Webb, Rogers, Gray,
    Mason, Ali, Hunt, Hussain, Campbell, Matthews, Owen, Palmer, Holmes, Mills, Barnes, Knight, Lloyd,
    Butler, Russell, Barker, Fisher, Stevens, Jenkins, Murray, Dixon, Harvey, O'Brien, O'Connor, O'Neill,
    McDonald, MacLeod, Smith-Jones, Bowes-Lyon, Núñez, Müller, Ahmed, Okafor, Chen, Kowalski, Nowak,
    Wiśniewski, Dąbrowski, García, Martínez, Rodríguez, López, González, Pérez, Sánchez, Fernández,
    Jiménez, Álvarez, Muñoz, Lefèvre, Dubois, Girard, Schröder, Schäfer, Köhler, Jäger, Brontë,
    Søndergaard, Ødegård, Åberg, Nguyễn, Trần, Phạm, Y\u0131lmaz, Öztürk, Çelik, Şahin, Doğan, Kovač,
    Horváth, Novák, Dvořák, Adeyemi, Mensah, Boateng, Nwosu, Ferreira, Gonçalves, Conceição,
    Ó Súilleabháin, Ní Bhriain, van der Berg, de la Cruz
""")
GIVEN_F = _names("""
    Olivia, Amelia, Isla, Ava, Mia, Ivy, Lily, Isabella, Rosie, Sophia, Grace, Freya, Willow, Florence,
    Emily, Margaret, Mary, Patricia, Susan, Linda, Barbara, Elizabeth, Jean, Joan, Dorothy, Zoë, Siobhán,
    Aisha, Chloé, Priya, Noémie, Agnieszka, Małgorzata, Ana, María, Fatima, Ayşe, Ngọc, Chiamaka,
    Mairéad, Aoife, Renée, Hélène, Björk
""")
GIVEN_M = _names("""
    Oliver, George, Noah, Arthur, Muhammad, Leo, Harry, Oscar, Archie, Henry, Jack, Charlie, Freddie,
    Jacob, John, David, Peter, Michael, Robert, William, James, Richard, Thomas, Kenneth, José, Seán,
    Arjun, Mohammed, Łukasz, Zoltán, Jürgen, François, Ömer, Đức, Chinedu, Eoin, Ciarán, Søren, Andrés,
    Joaquín, Raúl, Tomás
""")
TITLES = {"female": ["Mrs", "Ms", "Miss", "Dr", ""], "male": ["Mr", "Mr", "Dr", ""]}
STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Lane",
    "Victoria Road",
    "Park Avenue",
    "Chapel Street",
    "Kirkgate",
    "Moor Lane",
    "Westfield Road",
    "Queen's Drive",
    "Beck Side",
]
# (town, postcode area, highest district number)
AREAS = [
    ("Leeds", "LS", 29),
    ("York", "YO", 32),
    ("Wakefield", "WF", 17),
    ("Bradford", "BD", 24),
    ("Harrogate", "HG", 5),
    ("Halifax", "HX", 7),
    ("Huddersfield", "HD", 9),
    ("Sheffield", "S", 36),
    ("Doncaster", "DN", 22),
]
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
GP_PRACTICES = [
    ("B86001", "Kirkgate Medical Practice"),
    ("B86002", "Moorside Surgery"),
    ("B82005", "Riverside Health Centre"),
    ("C84001", "Abbey Road Practice"),
]
ETHNIC = [c.value for c in EthnicCategory]
SITES = [
    ("RXX01", "St Luke's Hospital"),
    ("RXX02", "Riverside Community Hospital"),
    ("RXX03", "Northgate General Hospital"),
    ("RXX04", "Moorside Infirmary"),
]
BAYS = "ABCDE"
BEDS_PER_BAY = 6
SPECIALTIES = list(Specialty)


def postcode(rng: random.Random) -> tuple[str, str]:
    town, area, districts = rng.choice(AREAS)
    inward = f"{rng.randint(1, 9)}{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}"
    return town, f"{area}{rng.randint(1, districts)} {inward}"


def patient_row(rng: random.Random, n: int, hospital_number: str, today: date) -> Patient:
    sex = rng.choice(["female", "male"])
    given = GIVEN_F if sex == "female" else GIVEN_M
    given_names = rng.choice(given) if rng.random() < 0.6 else f"{rng.choice(given)} {rng.choice(given)}"
    family_name = rng.choice(FAMILY)
    town, code = postcode(rng)
    gp_code, gp_name = rng.choice(GP_PRACTICES)
    patient = Patient(
        id=n + 1,
        nhs_number=demo_nhs_number(n),
        nhs_number_status="01",
        hospital_number=hospital_number,
        title=rng.choice(TITLES[sex]),
        family_name=family_name,
        given_names=given_names,
        date_of_birth=today - timedelta(days=rng.randint(0, 100 * 365)),
        sex=sex,
        address_line_1=f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        town=town,
        postcode=code,
        phone=f"07700 900{rng.randint(0, 999):03d}",
        gp_practice_code=gp_code,
        gp_practice_name=gp_name,
        ethnic_category=rng.choice(ETHNIC),
        preferred_language="English" if rng.random() < 0.92 else rng.choice(["Polish", "Urdu", "Punjabi"]),
    )
    patient.family_name_key = rules.search_key(family_name)
    patient.given_names_key = rules.search_key(given_names)
    return patient


# --- database -------------------------------------------------------------------------------------


def ensure_database() -> None:
    """With DATABASE_URL, create epr_bench on that server if it is missing (embedded does it itself)."""
    if not os.environ.get("DATABASE_URL"):
        return
    s = connection.settings_dict
    params = {"dbname": "postgres", "user": s["USER"], "password": s["PASSWORD"], "host": s["HOST"]}
    if s["PORT"]:
        params["port"] = s["PORT"]
    with psycopg.connect(**params, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))


def reset_database() -> float:
    """Drop everything in epr_bench and migrate from scratch; returns the seconds taken."""
    assert connection.settings_dict["NAME"] == BENCH_DB, "refusing to reset a database other than epr_bench"
    started = time.perf_counter()
    ensure_database()
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    call_command("migrate", verbosity=0, interactive=False)
    return time.perf_counter() - started


def copy_objects(objects: list[models.Model]) -> int:
    """COPY unsaved model instances (primary keys set) into their table; every concrete column."""
    if not objects:
        return 0
    model = type(objects[0])
    fields = model._meta.concrete_fields
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for obj in objects:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
    return len(objects)


def reset_sequences(model_list: Iterable[type[models.Model]]) -> None:
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), list(model_list)):
            cursor.execute(statement)


# --- loading --------------------------------------------------------------------------------------


@dataclass
class Loaded:
    patients: list[Patient]
    wards: list[Ward]
    nurses: dict[int, User]  # ward id -> a nurse on that ward
    clerk: User
    occupancy: dict[int, int]  # ward id -> patients in beds
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def bulk_users(prefix: str, role: str, count: int, extra_groups: list[list[int]] | None = None) -> list[User]:
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{i:04d}",
                password=password,
                role=role,
                first_name=prefix.title(),
                last_name=f"{i:04d}",
            )
            for i in range(count)
        ]
    )
    role_group = Group.objects.get_or_create(name=group_name(role))[0]
    through = User.groups.through
    memberships = [through(user_id=u.pk, group_id=role_group.pk) for u in users]
    for user, group_ids in zip(users, extra_groups or [[] for _ in users], strict=True):
        memberships += [through(user_id=user.pk, group_id=g) for g in group_ids]
    through.objects.bulk_create(memberships)
    return users


def load(rng: random.Random, patient_count: int, admission_count: int) -> Loaded:
    now = timezone.now()
    today = timezone.localdate()
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}

    # Locations and staff: a few thousand rows, bulk_create is quick enough.
    started = time.perf_counter()
    ward_count = max(len(SITES), math.ceil(admission_count / (len(BAYS) * BEDS_PER_BAY * 0.95)))
    sites = Site.objects.bulk_create([Site(code=c, name=n) for c, n in SITES])
    ward_groups = Group.objects.bulk_create([Group(name=f"ward:W{i:04d}") for i in range(ward_count)])
    wards = Ward.objects.bulk_create(
        [
            Ward(
                site=sites[i % len(sites)],
                code=f"W{i:04d}",
                staff_group=g,
                name=f"Ward {i + 1} ({SPECIALTIES[i % len(SPECIALTIES)].label})",
            )
            for i, g in enumerate(ward_groups)
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
    nurses = bulk_users("nurse", Role.NURSE, ward_count, [[w.staff_group_id] for w in wards])
    clerk = bulk_users("clerk", Role.WARD_CLERK, 1)[0]
    team_count = max(2, ward_count // 10)
    consultants = bulk_users("consultant", Role.DOCTOR, team_count)
    team_groups = Group.objects.bulk_create([Group(name=f"team:T{i:03d}") for i in range(team_count)])
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=c.pk, group_id=g.pk)
            for c, g in zip(consultants, team_groups, strict=True)
        ]
    )
    teams = Team.objects.bulk_create(
        [
            Team(
                name=f"Dr {c.last_name} - {SPECIALTIES[i % len(SPECIALTIES)].label}",
                consultant=c,
                specialty=SPECIALTIES[i % len(SPECIALTIES)].value,
                staff_group=g,
            )
            for i, (c, g) in enumerate(zip(consultants, team_groups, strict=True))
        ]
    )
    seconds["locations and staff"] = time.perf_counter() - started
    users = 3 * (ward_count + team_count) + 2  # users with their role, ward and team memberships
    groups = len(ward_groups) + len(team_groups)
    rows["locations and staff"] = (
        len(sites) + len(wards) + len(bays) + len(beds) + users + groups + len(teams)
    )

    # Patients: COPY.
    started = time.perf_counter()
    from records.services.patients import next_hospital_numbers

    numbers = next_hospital_numbers(patient_count)
    patients = [patient_row(rng, n, numbers[n], today) for n in range(patient_count)]
    rows["patients"] = copy_objects(patients)
    seconds["patients"] = time.perf_counter() - started

    # Admissions: encounter, current ward stay in a bed, ward and team care relationships, guardian rows.
    started = time.perf_counter()
    permission = Permission.objects.get(content_type__app_label="records", codename=CARE_PERMISSION)
    ward_team = {w.pk: teams[i % len(teams)] for i, w in enumerate(wards)}
    ward_group = {w.pk: w.staff_group_id for w in wards}
    admitted = rng.sample(patients, admission_count)
    occupied_beds = rng.sample(beds, admission_count)
    encounters, stays, relationships, grants = [], [], [], []
    methods = [m.value for m in AdmissionMethod]
    for i, (patient, bed) in enumerate(zip(admitted, occupied_beds, strict=True), start=1):
        team = ward_team[bed.ward_id]
        at = now - timedelta(minutes=rng.randint(60, 21 * 24 * 60))
        encounters.append(
            Encounter(
                id=i,
                patient_id=patient.pk,
                status="active",
                admitted_at=at,
                admission_method=rng.choice(methods),
                specialty=team.specialty,
                consultant_id=team.consultant_id,
                team=team,
                admitted_by=clerk,
            )
        )
        stays.append(
            WardStay(id=i, encounter_id=i, ward_id=bed.ward_id, bed=bed, started_at=at, moved_by=clerk)
        )
        for kind, group_id in (
            (CareRelationshipKind.WARD, ward_group[bed.ward_id]),
            (CareRelationshipKind.TEAM, team.staff_group_id),
        ):
            relationships.append(
                CareRelationship(
                    id=len(relationships) + 1,
                    patient_id=patient.pk,
                    group_id=group_id,
                    kind=kind.value,
                    encounter_id=i,
                    started_at=at,
                )
            )
            grants.append(
                PatientGroupObjectPermission(
                    id=len(grants) + 1,
                    content_object_id=patient.pk,
                    group_id=group_id,
                    permission=permission,
                )
            )
    rows["admissions"] = sum(copy_objects(objs) for objs in (encounters, stays, relationships, grants))
    seconds["admissions"] = time.perf_counter() - started

    started = time.perf_counter()
    reset_sequences([Patient, Encounter, WardStay, CareRelationship, PatientGroupObjectPermission])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seconds["analyze"] = time.perf_counter() - started

    return Loaded(
        patients=patients,
        wards=wards,
        nurses={w.pk: n for w, n in zip(wards, nurses, strict=True)},
        clerk=clerk,
        occupancy=Counter(b.ward_id for b in occupied_beds),
        rows=rows,
        seconds=seconds,
    )


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Case:
    user: User | None
    path: str
    check: Callable[[Any], bool]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    label: str
    latencies_ms: list[float]
    query_counts: list[int]
    failures: int

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20, method="inclusive")[18]

    @property
    def queries(self) -> str:
        low, high = min(self.query_counts), max(self.query_counts)
        return str(low) if low == high else f"{low}-{high}"


class Clients:
    """One logged-in test client per user (logging in is not part of what is measured)."""

    def __init__(self) -> None:
        self._by_user: dict[int | None, Client] = {}

    def get(self, user: User | None) -> Client:
        key = user.pk if user else None
        if key not in self._by_user:
            client = Client()
            if user is not None:
                client.force_login(user)
            self._by_user[key] = client
        return self._by_user[key]


def say(result: Result) -> None:
    """One measurement's line, as every benchmark prints it."""
    print(
        f"  {result.label}: median {result.median:.1f} ms, p95 {result.p95:.1f} ms, queries {result.queries}"
        + (f", {result.failures} unexpected responses" if result.failures else ""),
        flush=True,
    )


def bearer(scope: str, *, benchmark: str) -> dict[str, str]:
    """A new system client's token from POST /o/token/ (client credentials, HTTP basic auth)."""
    from base64 import b64encode

    from epr.accounts.services import api_client_create

    api_client, secret = api_client_create(name=f"{benchmark} benchmark ({scope})", scopes=[scope])
    basic = b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, f"POST /o/token/ for {scope}: HTTP {response.status_code}"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def measure(label: str, cases: list[Case], clients: Clients) -> Result:
    query_counts, failures = [], 0
    clients.get(cases[0].user).get(cases[0].path, headers=cases[0].headers)  # fill per-process caches
    for case in cases:  # warm-up, correctness and query counts
        client = clients.get(case.user)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(case.path, headers=case.headers)
        query_counts.append(len(captured))
        failures += not (response.status_code == 200 and case.check(response))
    latencies = []
    for case in cases:
        client = clients.get(case.user)
        started = time.perf_counter()
        client.get(case.path, headers=case.headers)
        latencies.append((time.perf_counter() - started) * 1000)
    result = Result(label, latencies, query_counts, failures)
    print(
        f"  {label}: median {result.median:.1f} ms, p95 {result.p95:.1f} ms, queries {result.queries}"
        + (f", {failures} unexpected responses" if failures else ""),
        flush=True,
    )
    return result


def contains(*texts: str) -> Callable[[Any], bool]:
    return lambda response: all(t in response.content.decode() for t in texts)


def fragment(rng: random.Random, patient: Patient) -> str:
    """What a clerk types: 3 to 5 letters of the family or first given name, accents and case as typed."""
    name = patient.family_name if rng.random() < 0.7 else patient.given_names.split()[0]
    return name[: rng.randint(3, 5)].lower()


def page_cases(rng: random.Random, data: Loaded, count: int) -> dict[str, list[Case]]:
    picks = [rng.choice(data.patients) for _ in range(count)]
    clerk = data.clerk
    name_picks = [(p, fragment(rng, p)) for p in picks]
    wards = [rng.choice(data.wards) for _ in range(count)]
    nurse_picks = [(data.nurses[w.pk], p) for w, p in zip(wards, picks, strict=True)]
    return {
        "search NHS number (clerk)": [
            Case(
                clerk,
                "/patients/?" + urlencode({"identifier": rules.format_nhs_number(p.nhs_number)}),
                contains(p.hospital_number),
            )
            for p in picks
        ],
        "search hospital number (clerk)": [
            Case(
                clerk,
                "/patients/?" + urlencode({"identifier": p.hospital_number}),
                contains(p.hospital_number),
            )
            for p in picks
        ],
        "search name + DOB (clerk)": [
            Case(
                clerk,
                "/patients/?" + urlencode({"name": frag, "date_of_birth": p.date_of_birth.isoformat()}),
                contains(p.hospital_number),
            )
            for p, frag in name_picks
        ],
        "search name + DOB (nurse)": [
            Case(
                nurse,
                "/patients/?" + urlencode({"name": frag, "date_of_birth": p.date_of_birth.isoformat()}),
                contains(p.hospital_number),
            )
            for (nurse, _), (p, frag) in zip(nurse_picks, name_picks, strict=True)
        ],
        "search name only (clerk)": [
            Case(clerk, "/patients/?" + urlencode({"name": p.family_name}), contains("result")) for p in picks
        ],
        "ward list (nurse on ward)": [
            Case(
                data.nurses[w.pk],
                f"/wards/{w.pk}/",
                contains(w.name, f"{data.occupancy[w.pk]} of {len(BAYS) * BEDS_PER_BAY} occupied"),
            )
            for w in wards
        ],
    }


def fhir_auth() -> tuple[User | None, dict[str, str], str]:
    """Find a way in: a system client's bearer token, else the clerk's browser session."""
    scopes = ["system/Patient.read", "system/*.read"]
    api_client, _ = api_client_create(name="Benchmark", scopes=scopes)
    token = AccessToken.objects.create(
        application=api_client.application,
        token=secrets.token_urlsafe(32),
        scope=" ".join(scopes),
        expires=timezone.now() + timedelta(hours=2),
    )
    return None, {"Authorization": f"Bearer {token.token}"}, "system client bearer token"


def fhir_cases(
    rng: random.Random, data: Loaded, count: int, clients: Clients
) -> tuple[dict[str, list[Case]], str]:
    """FHIR Patient searches and how they authenticate, or why they cannot be measured yet."""
    picks = [rng.choice(data.patients) for _ in range(count)]

    def is_bundle_with(p: Patient) -> Callable[[Any], bool]:
        def check(response) -> bool:
            try:
                body = response.json()
            except ValueError:
                return False
            return body.get("resourceType") == "Bundle" and p.nhs_number in response.content.decode()

        return check

    def identifier_path(p: Patient) -> str:
        return "/fhir/Patient?" + urlencode(
            {"identifier": f"https://fhir.nhs.uk/Id/nhs-number|{p.nhs_number}"}
        )

    def family_path(p: Patient) -> str:
        return "/fhir/Patient?" + urlencode(
            {"family": p.family_name, "birthdate": p.date_of_birth.isoformat()}
        )

    bearer_user, bearer_headers, bearer_how = fhir_auth()
    reasons = []
    for user, headers, how in (
        (bearer_user, bearer_headers, bearer_how),
        (data.clerk, {}, "ward clerk's session"),
    ):
        try:
            response = clients.get(user).get(identifier_path(picks[0]), headers=headers)
        except Exception as exc:  # the API is being written; report, do not crash
            reasons.append(f"{how}: {type(exc).__name__}: {exc}")
            continue
        if response.status_code == 200 and is_bundle_with(picks[0])(response):
            return {
                "FHIR Patient?identifier": [
                    Case(user, identifier_path(p), is_bundle_with(p), headers) for p in picks
                ],
                "FHIR Patient?family&birthdate": [
                    Case(user, family_path(p), is_bundle_with(p), headers) for p in picks
                ],
            }, f"FHIR search: authenticated with a {how}"
        reasons.append(f"{how}: HTTP {response.status_code}")
    return {}, f"FHIR search: not available ({'; '.join(reasons)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--admissions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.admissions > args.patients:
        parser.error("--admissions cannot exceed --patients")
    rng = random.Random(args.seed)
    db = connection.settings_dict
    print(
        f"Database {db['NAME']} on {db['HOST'] or 'localhost'}:{db['PORT']} (reset and migrated)", flush=True
    )

    migrate_seconds = reset_database()
    print(f"Migrated in {migrate_seconds:.1f} s", flush=True)
    data = load(rng, args.patients, args.admissions)
    total_rows = sum(data.rows.values())
    load_seconds = sum(data.seconds.values())
    for part, secs in data.seconds.items():
        count = data.rows.get(part)
        rate = f" ({count:,} rows, {count / secs:,.0f} rows/s)" if count else ""
        print(f"  {part}: {secs:.1f} s{rate}", flush=True)
    print(
        f"Loaded {args.patients:,} patients and {args.admissions:,} admissions on {len(data.wards)} wards: "
        f"{total_rows:,} rows in {load_seconds:.1f} s ({total_rows / load_seconds:,.0f} rows/s)",
        flush=True,
    )

    clients = Clients()
    print(f"Measuring, {args.requests} requests per page:", flush=True)
    cases = page_cases(rng, data, args.requests)
    fhir, fhir_note = fhir_cases(rng, data, args.requests, clients)
    results = [measure(label, page, clients) for label, page in {**cases, **fhir}.items()]

    print()
    print(f"{'page':<52} {'requests':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bad':>4}")
    for r in results:
        print(
            f"{r.label:<52} {len(r.latencies_ms):>8} {r.median:>10.1f} {r.p95:>8.1f} {r.queries:>8} "
            f"{r.failures:>4}"
        )
    print("queries: per request; a search makes one more when a result is in hospital (ward stay prefetch)")
    print("bad: responses that were not 200 or lacked the expected patient (or ward occupancy)")
    print(fhir_note)
    print(
        f"Load: {args.patients:,} patients, {args.admissions:,} admissions, {total_rows:,} rows in "
        f"{load_seconds:.1f} s ({total_rows / load_seconds:,.0f} rows/s); migrate {migrate_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
