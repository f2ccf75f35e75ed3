"""Medicines benchmark: a 30-bed ward's medicines on top of 100,000 patients, measured through the full stack.

Run the whole thing (a minute or two on 2 cores):

    .venv/bin/python benchmarks/medicines.py

or a quick check on 5,000 patients: `.venv/bin/python benchmarks/medicines.py --quick`.

It uses the same database as `make bench` (benchmarks/patient_index.py), `epr_bench`, never the
development data, and rebuilds it: migrate from scratch, then the same 100,000 patients and 20,000
admissions (patient_index's loader). The benchmarks reset the same database, so do not run them at the
same time.

Then, through the services: the curated catalogue (load_curated, 689 medicines), a new 30-bed ward (five
bays of six) with four nurses and a pharmacist on it, and 30 patients who were not in hospital admitted
to its beds 30 days ago (encounter_admit, general medicine, via the emergency department). Every product
gets a supplier's pack with a GTIN in GS1's restricted-circulation range (AMP, VMPP, AMPP, PackGTIN).

Each patient has 12 active prescriptions, written with bulk_create (and their "+" history rows) from the
products' own order sentences: two as required, one antimicrobial started two days ago for every third
patient (with its indication and review date), the rest regular. The 12 are chosen with the seed so that
they raise no finding between them at prescribing (no shared ingredient, no duplicate class, no listed
interaction, no dose above the formulary's maximum: the same pure checks prescription_create runs), and
no product needing a witness is prescribed regularly. About 10% await the pharmacist's verification:
those were written in the last day, and only their first dose was given (policy allows a first dose
before verification; it is flagged). The rest were verified a few hours after prescribing, with the
pharmacist's review row.

Doses (bulk_create, no history rows: the pages do not read them): every due time of a regular
prescription (due_times_of) from its start until 90 minutes ago has an administration, 95% given with
the pack's GTIN, batch and expiry (a controlled drug witnessed) and 5% not given ("refused"); the last
90 minutes are left for the round (overdue and due now). As-required doses are given 0 to 2 times a day,
at least their minimum interval apart. Then ANALYZE.

Measured (--requests each, inputs drawn with --seed), each GET twice per input as in patient_index: once
with queries captured (warm-up, check, query count), once timed:
- the ward's medication round (GET /medicines/round/?ward=<id>) as a nurse on the ward: all 30 patients;
- the drug chart (GET /patients/<id>/medicines/) of a ward patient as the nurse, today and on a day of
  the last 30 (?day=): 12 prescriptions, and on the past day exactly the doses given that day;
- the verification queue (GET /medicines/verification/) as the pharmacist: every awaiting prescription;
- FHIR MedicationRequest?patient=<id>&_count=50 as a system client (a bearer token from POST /o/token/,
  client credentials, scope system/MedicationRequest.read) and as the nurse's session: a Bundle of the
  patient's 12 prescriptions;
- one scan-to-record administration (POST /patients/<id>/medicines/<rx>/give/?due=<time>) with the
  patient's wristband (NHS number) and the pack's GS1 DataMatrix, for a new verified prescription whose
  one time of day is the nearest hour (due now). 2 x --requests posts after one warm-up, the first half
  captured, the second timed; each must redirect to the drug chart and record exactly one dose.

Before measuring, the loader's 100,000 Patient objects are let go (a server process does not hold them,
and the garbage collector's full passes would walk them during the requests).

Every page must keep the same number of queries for every input: if one does not, a FAIL line is printed
and the run exits non-zero (so it does for any unexpected response). Last, one more request of each GET
page is captured: its SQL time (COMMIT apart, where the audit chain's trigger runs), its slowest statement,
and EXPLAIN (ANALYZE, BUFFERS) of each of its SELECTs of prescribing tables, with any scan shown that reads
a whole prescription or administration table or throws away ten times the rows it keeps (1,000 or more).
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
import secrets
import sys
import time
import uuid
from base64 import b64encode
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Prefetch
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from psycopg import sql
from simple_history.utils import bulk_create_with_history

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.accounts.services import api_client_create, staff_create
from prescribing import policy
from prescribing.models import (
    AMP,
    AMPP,
    VMP,
    VMPP,
    Administration,
    AdministrationOutcome,
    OrderSentence,
    PackGTIN,
    PharmacyAction,
    PharmacyReview,
    Prescription,
    PrescriptionKind,
    Verification,
    VMPIngredient,
)
from prescribing.rules import checks, doses
from prescribing.rules.gs1 import check_digit
from prescribing.selectors import charts, interactions
from prescribing.services.administration import due_times_of
from prescribing.services.curated import load_curated, local_id
from records.models import AdmissionMethod, Bed, Encounter, Patient, Specialty, Team, Ward
from records.services import encounter_admit, ward_add_staff, ward_create

BAYS = "ABCDE"
BEDS_PER_BAY = 6
PRESCRIPTIONS = 12
AS_REQUIRED = 2
DAYS = 30
AWAITING_SHARE = 0.10
NOT_GIVEN_SHARE = 0.05
LEFT_FOR_THE_ROUND = timedelta(minutes=90)  # due times this recent have no record yet
BATCH_ROWS = 5000
SCOPE = "system/MedicationRequest.read"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
WASTE_ROWS = 1000  # a scan reading at least this many rows to keep a tenth of them is shown
GROWING = {m._meta.db_table for m in (Prescription, Prescription.history.model, Administration)}
PRESCRIBING_TABLES = [
    m._meta.db_table for m in (Prescription, Prescription.history.model, Administration, PharmacyReview)
]
# Eager Celery still builds a broker connection once, and kombu warns that filesystem:// has no host.
logging.getLogger("kombu.connection").setLevel(logging.ERROR)


# --- the catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    vmp: VMP
    names: tuple[str, ...]  # its active ingredients
    active: checks.Active  # as the checks at prescribing see it
    gtin: str
    regular: tuple[OrderSentence, ...]
    as_required: tuple[OrderSentence, ...]
    antimicrobial: bool
    witness: bool  # a controlled drug whose doses need a witness


def ingredient_names(vmp: VMP) -> list[str]:
    """As prescribing.selectors.prescriptions.ingredient_names, from what is prefetched."""
    names = [i.ingredient.name for i in vmp.ingredients.all()]
    if not names and vmp.vtm is not None:
        names = [part.strip() for part in vmp.vtm.name.split("+")]
    return names or [vmp.name]


def within_maximum(vmp: VMP, sentence: OrderSentence) -> bool:
    """No maximum-dose finding for the sentence (the formulary's limits, when in the same unit)."""
    entry = getattr(vmp, "formulary", None)
    if entry is None or entry.max_dose_unit != sentence.dose_unit:
        return True
    per_day = len(sentence.times_of_day) or sentence.max_doses_in_24_hours or 1
    return not checks.maximum_dose_findings(
        dose=sentence.dose_value,
        doses_per_day=per_day,
        unit=sentence.dose_unit,
        max_single=entry.max_single_dose,
        max_daily=entry.max_daily_dose,
    )


def gtin_of(number: int) -> str:
    """A GTIN in GS1's restricted-circulation range (prefix 02), never a real product's."""
    body = f"0029{number:09d}"
    return body + str(check_digit(body))


def load_catalogue() -> tuple[list[Product], dict[str, int]]:
    """The curated medicines, one supplier's pack with a barcode for each; the products as the loader
    picks them."""
    counts = load_curated()
    vmps = list(
        VMP.objects.select_related("vtm", "formulary")
        .prefetch_related(
            Prefetch("ingredients", queryset=VMPIngredient.objects.select_related("ingredient")),
            Prefetch("order_sentences", queryset=OrderSentence.objects.order_by("order", "pk")),
        )
        .order_by("name", "pk")
    )
    amps = AMP.objects.bulk_create(
        AMP(dmd_id=local_id("amp", v.name), vmp=v, name=v.name, description=f"{v.name} (Benchmark Pharma)")
        for v in vmps
    )
    vmpps = VMPP.objects.bulk_create(
        VMPP(dmd_id=local_id("vmpp", v.name), vmp=v, name=f"{v.name} pack") for v in vmps
    )
    ampps = AMPP.objects.bulk_create(
        AMPP(dmd_id=local_id("ampp", v.name), amp=a, vmpp=p, name=f"{v.name} (Benchmark Pharma) pack")
        for v, a, p in zip(vmps, amps, vmpps, strict=True)
    )
    gtins = PackGTIN.objects.bulk_create(
        PackGTIN(ampp=ampp, gtin=gtin_of(i)) for i, ampp in enumerate(ampps, start=1)
    )
    products = []
    for vmp, gtin in zip(vmps, gtins, strict=True):
        names = ingredient_names(vmp)
        sentences = [s for s in vmp.order_sentences.all() if within_maximum(vmp, s)]
        entry = getattr(vmp, "formulary", None)
        products.append(
            Product(
                vmp=vmp,
                names=tuple(names),
                active=checks.Active(vmp.name, checks.ingredients_of(names)),
                gtin=gtin.gtin,
                regular=tuple(s for s in sentences if s.kind == PrescriptionKind.REGULAR),
                as_required=tuple(s for s in sentences if s.kind == PrescriptionKind.AS_REQUIRED),
                antimicrobial=(entry is not None and entry.group == "antimicrobial")
                or vmp.bnf_code.startswith("5.")
                or bool(checks.classes_of(names)),
                witness=policy.needs_witness(vmp.controlled_drug_category),
            )
        )
    return products, {"medicines": counts["medicines"], "packs": len(gtins)}


def findings(product: Product, chosen: list[Product]) -> list[checks.Finding]:
    """What prescribing the product beside the chosen ones would raise (the patients have no allergies)."""
    active = [c.active for c in chosen]
    name, ingredients = product.vmp.name, list(product.names)
    return checks.duplicate_findings(
        name, ingredients, active, interactions.therapeutic_classes()
    ) + checks.interaction_findings(
        name, ingredients, active, interactions.interaction_table(), interactions.drug_classes()
    )


class Pools:
    """The products a prescription of each kind is drawn from."""

    def __init__(self, products: list[Product]) -> None:
        self.regular = [p for p in products if p.regular and not p.antimicrobial and not p.witness]
        self.as_required = [p for p in products if p.as_required and not p.antimicrobial]
        self.antimicrobial = [p for p in products if p.regular and p.antimicrobial and not p.witness]

    def pick(self, rng: random.Random, kind: str, chosen: list[Product]) -> Product:
        """A product of that kind raising no finding beside the chosen ones."""
        pool = getattr(self, kind)
        for index in rng.sample(range(len(pool)), len(pool)):
            if pool[index] not in chosen and not findings(pool[index], chosen):
                return pool[index]
        raise RuntimeError(f"no {kind} product is compatible with {[c.vmp.name for c in chosen]}")


# --- the ward -------------------------------------------------------------------------------------


@dataclass
class WardLoaded:
    ward_id: int
    patients: list[Patient]
    encounter_of: dict[int, int]  # patient id -> encounter id
    nurses: list[User]
    pharmacist: User
    doctor: User
    chosen: dict[int, list[Product]]  # patient id -> the products prescribed
    prescribed: dict[int, int]  # patient id -> prescriptions
    awaiting: int
    given_on: Counter  # (patient id, ward day) -> doses given that day
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def admit_ward(rng: random.Random, data: base.Loaded, now: datetime) -> tuple[int, list[Patient], dict, list]:
    """A new 30-bed ward and 30 patients not in hospital admitted to it 30 days ago, by the service."""
    site = data.wards[0].site
    ward = ward_create(
        site=site,
        code="MEDS30",
        name="Medicines benchmark ward",
        bays={f"Bay {b}": [f"{b}{i}" for i in range(1, BEDS_PER_BAY + 1)] for b in BAYS},
    )
    beds = list(Bed.objects.filter(ward=ward).select_related("bay").order_by("bay__name", "label"))
    in_hospital = set(Encounter.objects.filter(status="active").values_list("patient_id", flat=True))
    free = [p for p in data.patients if p.pk not in in_hospital]
    patients = rng.sample(free, len(beds))
    team = Team.objects.select_related("consultant").order_by("pk").first()
    assert team is not None, "patient_index made no teams"
    admitted_at = now - timedelta(days=DAYS, hours=3)
    encounter_of = {}
    for patient, bed in zip(patients, beds, strict=True):
        encounter = encounter_admit(
            admitted_by=data.clerk,
            patient=patient,
            ward=ward,
            bed=bed,
            consultant=team.consultant,
            team=team,
            specialty=Specialty.GENERAL_MEDICINE,
            admission_method=AdmissionMethod.EMERGENCY_ED,
            admitted_at=admitted_at,
        )
        encounter_of[patient.pk] = encounter.pk
    password = secrets.token_urlsafe(16)
    nurses = [
        staff_create(
            username=f"mednurse{i}",
            password=password,
            role=Role.NURSE,
            first_name="Ward",
            last_name=f"Nurse {i}",
        )
        for i in range(1, 5)
    ]
    pharmacist = staff_create(
        username="medpharmacist",
        password=password,
        role=Role.PHARMACIST,
        first_name="Ward",
        last_name="Pharmacist",
    )
    ward_add_staff(ward=ward, users=[*nurses, pharmacist])
    return ward.pk, patients, encounter_of, [*nurses, pharmacist, team.consultant]


def prescription_row(
    rng: random.Random,
    product: Product,
    kind: str,
    *,
    patient_id: int,
    encounter_id: int,
    starts_at: datetime,
    doctor: User,
    pharmacist: User,
    verified: bool,
    now: datetime,
    times_of_day: list[str] | None = None,
) -> Prescription:
    sentence = rng.choice(product.regular if kind == PrescriptionKind.REGULAR else product.as_required)
    prescribed_at = min(starts_at, now) - timedelta(minutes=rng.randint(60, 120))
    verified_at = prescribed_at + timedelta(minutes=rng.randint(10, 55))
    antimicrobial = product.antimicrobial
    return Prescription(
        patient_id=patient_id,
        encounter_id=encounter_id,
        vmp=product.vmp,
        kind=kind,
        dose_value=sentence.dose_value,
        dose_unit=sentence.dose_unit,
        route=sentence.route,
        times_of_day=times_of_day or sorted(set(sentence.times_of_day)),
        min_interval_minutes=sentence.min_interval_minutes,
        max_doses_in_24_hours=sentence.max_doses_in_24_hours,
        indication="Community-acquired pneumonia"
        if antimicrobial
        else ("Symptom relief" if kind == PrescriptionKind.AS_REQUIRED else ""),
        review_on=timezone.localdate(now) + timedelta(days=1) if antimicrobial else None,
        starts_at=starts_at,
        prescribed_by=doctor,
        prescribed_at=prescribed_at,
        version=2 if verified else 1,
        verification=Verification.VERIFIED if verified else Verification.AWAITING,
        verified_by=pharmacist if verified else None,
        verified_at=verified_at if verified else None,
    )


def write_prescriptions(rows: list[Prescription], doctor: User) -> list[Prescription]:
    """The prescriptions with their "+" history rows, and the pharmacist's review of each verified one."""
    made = bulk_create_with_history(rows, Prescription, batch_size=BATCH_ROWS, default_user=doctor)
    PharmacyReview.objects.bulk_create(
        PharmacyReview(prescription=p, action=PharmacyAction.VERIFIED, by=p.verified_by, at=p.verified_at)
        for p in made
        if p.verification == Verification.VERIFIED
    )
    return made


def dose_rows(
    rng: random.Random, rx: Prescription, product: Product, nurses: list[User], until: datetime
) -> list[Administration]:
    """The doses recorded against a prescription from its start until `until`."""
    window_after = policy.dose_window().after
    today = timezone.localdate(until)

    def record(due: datetime | None, at: datetime, given: bool) -> Administration:
        nurse = rng.choice(nurses)
        witness = rng.choice([n for n in nurses if n.pk != nurse.pk]) if product.witness and given else None
        common = {
            "prescription": rx,
            "patient_id": rx.patient_id,
            "due_at": due,
            "at": at,
            "recorded_by": nurse,
            "recorded_at": at + timedelta(seconds=rng.randint(10, 300)),
        }
        if not given:
            return Administration(
                outcome=AdministrationOutcome.NOT_GIVEN, not_given_reason="refused", **common
            )
        return Administration(
            outcome=AdministrationOutcome.GIVEN,
            dose_value=rx.dose_value,
            dose_unit=rx.dose_unit,
            route=rx.route,
            delayed=due is not None and at > due + window_after,
            gtin=product.gtin,
            batch=f"B{rng.randrange(10**6):06d}",
            expiry=today + timedelta(days=rng.randint(120, 720)),
            wristband_scanned=True,
            pack_scanned=True,
            given_unverified=rx.verification != Verification.VERIFIED,
            witness=witness,
            **common,
        )

    rows = []
    if rx.kind == PrescriptionKind.REGULAR:
        due = due_times_of(rx, since=rx.starts_at, until=until)
        if rx.verification != Verification.VERIFIED:
            due = due[:1]  # a first dose may be given before verification; the next must wait
        for when in due:
            given = rng.random() >= NOT_GIVEN_SHARE or rx.verification != Verification.VERIFIED
            rows.append(record(when, when + timedelta(minutes=rng.randint(-25, 45)), given))
    elif rx.verification == Verification.VERIFIED:  # as required: 0 to 2 doses a day
        interval = timedelta(minutes=rx.min_interval_minutes or 240)
        at = rx.starts_at + timedelta(minutes=rng.randint(30, 600))
        while at < until:
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                if at < until:
                    rows.append(record(None, at, True))
                at += interval + timedelta(minutes=rng.randint(0, 240))
            at += timedelta(hours=rng.randint(8, 20))
    return rows


def load_ward(rng: random.Random, data: base.Loaded) -> tuple[WardLoaded, Pools]:
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    now = timezone.now()

    started = time.perf_counter()
    products, counts = load_catalogue()
    pools = Pools(products)
    seconds["catalogue and packs"] = time.perf_counter() - started
    rows["catalogue and packs"] = counts["medicines"] + 4 * counts["packs"]  # and their ingredients...

    started = time.perf_counter()
    ward_id, patients, encounter_of, staff = admit_ward(rng, data, now)
    *nurses, pharmacist, doctor = staff
    seconds["ward, staff and 30 admissions (services)"] = time.perf_counter() - started

    started = time.perf_counter()
    start = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    chosen: dict[int, list[Product]] = {}
    planned: list[tuple[Prescription, Product]] = []
    for index, patient in enumerate(patients):
        kinds = ["antimicrobial"] if index % 3 == 0 else []
        kinds += ["as_required"] * AS_REQUIRED
        kinds += ["regular"] * (PRESCRIPTIONS - len(kinds))
        mine: list[Product] = []
        for kind in kinds:
            product = pools.pick(rng, kind, mine)
            mine.append(product)
            verified = rng.random() >= AWAITING_SHARE
            starts_at = start
            if kind == "antimicrobial":
                starts_at = now - timedelta(hours=46)
            if not verified:  # written in the last day, still waiting for the pharmacist
                starts_at = now - timedelta(minutes=rng.randint(60, 20 * 60))
            rx = prescription_row(
                rng,
                product,
                PrescriptionKind.AS_REQUIRED if kind == "as_required" else PrescriptionKind.REGULAR,
                patient_id=patient.pk,
                encounter_id=encounter_of[patient.pk],
                starts_at=starts_at,
                doctor=doctor,
                pharmacist=pharmacist,
                verified=verified,
                now=now,
            )
            planned.append((rx, product))
        chosen[patient.pk] = mine
    made = write_prescriptions([rx for rx, _ in planned], doctor)
    awaiting = sum(1 for p in made if p.verification == Verification.AWAITING)
    seconds["prescriptions"] = time.perf_counter() - started
    rows["prescriptions"] = 3 * len(made) - awaiting  # with their history rows and reviews

    started = time.perf_counter()
    until = now - LEFT_FOR_THE_ROUND
    doses_given: list[Administration] = []
    for rx, (_, product) in zip(made, planned, strict=True):
        doses_given += dose_rows(rng, rx, product, nurses, until)
    Administration.objects.bulk_create(doses_given, batch_size=BATCH_ROWS)
    given_on: Counter = Counter()
    for dose in doses_given:
        if dose.outcome == AdministrationOutcome.GIVEN:
            given_on[(dose.patient_id, (dose.due_at or dose.at).astimezone(doses.WARD_TIME).date())] += 1
    seconds["administrations"] = time.perf_counter() - started
    rows["administrations"] = len(doses_given)

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, PRESCRIBING_TABLES)))
        )
    seconds["analyze"] = time.perf_counter() - started

    return WardLoaded(
        ward_id=ward_id,
        patients=patients,
        encounter_of=encounter_of,
        nurses=nurses,
        pharmacist=pharmacist,
        doctor=doctor,
        chosen=chosen,
        prescribed=Counter(p.patient_id for p in made),
        awaiting=awaiting,
        given_on=given_on,
        rows=rows,
        seconds=seconds,
    ), pools


def round_today(loaded: WardLoaded) -> str:
    """Where today's doses stand on the round (the selector's own count)."""
    ward = Ward.objects.get(pk=loaded.ward_id)
    shown, slots = charts.medication_round(ward, {p.pk for p in loaded.patients}, timezone.localdate())
    states = {
        name: sum(getattr(rp, name) for rp in shown) for name in ("given", "not_given", "overdue", "due")
    }
    later = sum(rp.later for rp in shown)
    return (
        f"Round today: {len(slots)} round times; doses {states['given']} given, {states['not_given']} not "
        f"given, {states['overdue']} overdue, {states['due']} due now, {later} later"
    )


# --- measuring ------------------------------------------------------------------------------------


def counted(marker: str, expected: int) -> Callable[[Any], bool]:
    return lambda response: response.content.decode().count(marker) == expected


def both(*tests: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda response: all(test(response) for test in tests)


def page_cases(rng: random.Random, loaded: WardLoaded, count: int) -> dict[str, list[base.Case]]:
    nurse = loaded.nurses[0]
    round_path = reverse("prescribing:medication_round") + "?" + urlencode({"ward": loaded.ward_id})
    today = timezone.localdate()
    charts = [rng.choice(loaded.patients) for _ in range(count)]
    earlier = [
        (rng.choice(loaded.patients), today - timedelta(days=rng.randint(1, DAYS - 1))) for _ in range(count)
    ]

    def chart(patient: Patient) -> str:  # a nurse on the ward opens any of its patients
        return reverse("prescribing:drug_chart", args=[patient.pk])

    prescriptions = counted('data-testid="prescription"', PRESCRIPTIONS)
    return {
        "medication round, 30 beds (nurse)": [
            base.Case(nurse, round_path, counted('data-testid="round-patient"', len(loaded.patients)))
        ]
        * count,
        "drug chart, today (nurse)": [base.Case(nurse, chart(p), prescriptions) for p in charts],
        "drug chart, ?day= in the last 30 (nurse)": [
            base.Case(
                nurse,
                f"{chart(p)}?{urlencode({'day': day.isoformat()})}",
                both(prescriptions, counted('data-testid="dose-given"', loaded.given_on[(p.pk, day)])),
            )
            for p, day in earlier
        ],
        "verification queue (pharmacist)": [
            base.Case(
                loaded.pharmacist,
                reverse("prescribing:verification_queue"),
                counted('data-testid="queue-item"', loaded.awaiting),
            )
        ]
        * count,
    }


def bearer_token(clients: base.Clients) -> tuple[dict[str, str], str]:
    """A system client's token from POST /o/token/ (client credentials, HTTP basic auth)."""
    api_client, secret = api_client_create(name="Medicines benchmark", scopes=[SCOPE])
    basic = b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    response = clients.get(None).post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    if response.status_code != 200:
        return {}, f"POST /o/token/ gave HTTP {response.status_code}"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}, ""


def fhir_cases(
    rng: random.Random, loaded: WardLoaded, count: int, clients: base.Clients
) -> tuple[dict[str, list[base.Case]], list[str]]:
    """FHIR MedicationRequest search for ward patients, as a system client and as the nurse."""
    picks = [rng.choice(loaded.patients) for _ in range(count)]

    def path(patient: Patient) -> str:
        return "/fhir/MedicationRequest?" + urlencode({"patient": patient.pk, "_count": 50})

    def bundle_of(patient: Patient) -> Callable[[Any], bool]:
        def check(response) -> bool:
            try:
                body = response.json()
            except ValueError:
                return False
            entries = body.get("entry", [])
            expected = loaded.prescribed[patient.pk]
            return (
                body.get("resourceType") == "Bundle"
                and body.get("total") == expected
                and len(entries) == expected
                and all(e["resource"]["subject"]["reference"] == f"Patient/{patient.pk}" for e in entries)
            )

        return check

    headers, problem = bearer_token(clients)
    notes = [f"FHIR system client: {problem}"] if problem else []
    ways = [("system client, bearer token", "system", None, headers)] if headers else []
    ways.append(("nurse's session", "nurse", loaded.nurses[0], {}))
    cases = {}
    for how, who, user, auth in ways:
        response = clients.get(user).get(path(picks[0]), headers=auth)
        if response.status_code != 200 or not bundle_of(picks[0])(response):
            notes.append(
                f"FHIR MedicationRequest search as a {how}: HTTP {response.status_code}, not measured"
            )
            continue
        cases[f"FHIR MedicationRequest?patient&_count=50 ({who})"] = [
            base.Case(user, path(p), bundle_of(p), auth) for p in picks
        ]
    return cases, notes


@dataclass
class Due:
    prescription: Prescription
    patient: Patient
    gtin: str
    due_at: datetime


def due_now(rng: random.Random, loaded: WardLoaded, pools: Pools, count: int) -> list[Due]:
    """`count` new verified prescriptions, each with one dose due at the nearest hour (ward time)."""
    now = timezone.now()
    local = now.astimezone(doses.WARD_TIME)
    hour = local.replace(minute=0, second=0, microsecond=0)
    due_local = hour + timedelta(hours=1) if local.minute >= 30 else hour
    starts_at = hour.astimezone(UTC)
    planned = []
    for _ in range(count):
        patient = rng.choice(loaded.patients)
        product = pools.pick(rng, "regular", loaded.chosen[patient.pk])
        loaded.chosen[patient.pk].append(product)
        rx = prescription_row(
            rng,
            product,
            PrescriptionKind.REGULAR,
            patient_id=patient.pk,
            encounter_id=loaded.encounter_of[patient.pk],
            starts_at=starts_at,
            doctor=loaded.doctor,
            pharmacist=loaded.pharmacist,
            verified=True,
            now=now,
            times_of_day=[f"{due_local:%H}:00"],
        )
        rx.prescribed_at, rx.verified_at = now - timedelta(minutes=20), now - timedelta(minutes=10)
        planned.append((rx, patient, product))
    made = write_prescriptions([rx for rx, _, _ in planned], loaded.doctor)
    result = []
    for rx, (_, patient, product) in zip(made, planned, strict=True):
        (due,) = due_times_of(rx, since=starts_at, until=starts_at + timedelta(hours=2))
        assert due == due_local.astimezone(UTC), f"{rx.times_of_day} from {starts_at} is due at {due}"
        result.append(Due(rx, patient, product.gtin, due))
    return result


def measure_administration(
    rng: random.Random, loaded: WardLoaded, pools: Pools, count: int, clients: base.Clients
) -> tuple[base.Result, str]:
    """Scan the wristband and the pack and record the dose; each post must record exactly one."""
    nurse = loaded.nurses[0]
    client = clients.get(nurse)
    doses_due = due_now(rng, loaded, pools, 2 * count + 1)
    expiry = timezone.localdate() + timedelta(days=400)
    before = Administration.objects.count()

    def post(due: Due) -> Any:
        path = reverse("prescribing:administer", args=[due.patient.pk, due.prescription.pk])
        return client.post(
            f"{path}?{urlencode({'due': due.due_at.isoformat()})}",
            {
                "wristband": due.patient.nhs_number,
                "pack": f"]d201{due.gtin}17{expiry:%y%m%d}10BENCH{rng.randrange(10**4):04d}",
                "submission": uuid.uuid4().hex,
            },
        )

    def recorded(response: Any, due: Due) -> bool:
        client.cookies.pop("messages", None)  # the "given" message: do not let them pile up
        chart = reverse("prescribing:drug_chart", args=[due.patient.pk])
        return (
            response.status_code == 302
            and response["Location"].endswith(chart)
            and Administration.objects.filter(prescription=due.prescription).count() == 1
        )

    failures = int(not recorded(post(doses_due[0]), doses_due[0]))  # fill per-process caches
    query_counts, products_by_count = [], {}
    for due in doses_due[1 : count + 1]:  # warm-up, checks and query counts
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            response = post(due)
        query_counts.append(len(captured))
        products_by_count.setdefault(len(captured), set()).add(due.prescription.vmp.name)
        failures += not recorded(response, due)
    latencies = []
    for due in doses_due[count + 1 :]:
        started = time.perf_counter()
        response = post(due)
        latencies.append((time.perf_counter() - started) * 1000)
        failures += not recorded(response, due)
    made = Administration.objects.count() - before
    result = base.Result("scan-to-record administration (nurse)", latencies, query_counts, failures)
    print(
        f"  {result.label}: median {result.median:.1f} ms, p95 {result.p95:.1f} ms, queries {result.queries}"
        + (f", {failures} unexpected responses" if failures else ""),
        flush=True,
    )
    delayed = Administration.objects.filter(
        prescription__in=[d.prescription for d in doses_due], delayed=True
    )
    note = (
        f"Administration: {len(doses_due)} POSTs recorded {made} doses (due {doses_due[0].due_at:%H:%M} UTC; "
        f"{delayed.count()} recorded as late); {failures} did not redirect to the chart with exactly one dose"
    )
    if len(products_by_count) > 1:  # which products took more queries than the fewest
        fewest = min(products_by_count)
        note += "".join(
            f"; {n} queries for {', '.join(sorted(products_by_count[n]))}"
            for n in sorted(products_by_count)
            if n != fewest
        )
    return result, note


def wasteful_scans(statement: str) -> tuple[float, list[str]]:
    """EXPLAIN (ANALYZE) a captured SELECT: its execution time, and each scan of a prescribing table that
    read the whole of a growing table (a sequential scan of at least WASTE_ROWS rows) or threw away far
    more rows than it kept (an index walked under a filter)."""
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own: the captured SQL has its values in already
        cursor.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + sql.SQL(statement))
        plan = [row[0] for row in cursor.fetchall()]
    execution = next((line for line in plan if line.startswith("Execution Time")), "Execution Time: 0 ms")
    scans: list[list[Any]] = []  # [node, rows kept, rows removed by its filter, of ours?, table match]
    for number, line in enumerate(plan):
        text = line.strip()
        if number == 0 or text.startswith("->"):
            node = text.removeprefix("->").strip()
            actual = re.search(r"actual time=\S+ rows=(\d+)", node)
            ours = "Scan" in node and " on prescribing_" in node
            table = re.search(r" on (\w+)", node)
            scans.append([node.split("  (")[0], int(actual.group(1)) if actual else 0, 0, ours, table])
        elif scans and text.startswith("Rows Removed by Filter:"):
            scans[-1][2] = int(text.split(":")[1])
    flagged = [
        f"{node}: kept {kept:,} rows, removed {removed:,} by its filter"
        for node, kept, removed, ours, table in scans
        if ours
        and (
            (removed >= WASTE_ROWS and removed > 10 * kept)
            or ("Seq Scan" in node and kept + removed >= WASTE_ROWS and table.group(1) in GROWING)
        )
    ]
    return float(execution.split(":")[1].split()[0]), flagged


def sql_of(label: str, case: base.Case, clients: base.Clients) -> list[str]:
    """One more request of the page: its SQL time (COMMIT apart: the audit chain's trigger runs then), its
    slowest statement, and the plans of its SELECTs of prescribing tables."""
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        clients.get(case.user).get(case.path, headers=case.headers)
    timed = [(float(q["time"]) * 1000, " ".join(q["sql"].split())) for q in captured.captured_queries]
    commits = sum(ms for ms, text in timed if text.upper().startswith("COMMIT"))
    statements = [(ms, text) for ms, text in timed if not text.upper().startswith(TRANSACTION_CONTROL)]
    ms, text = max(statements)
    ours = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and '"prescribing_' in q["sql"]
    ]
    planned = [wasteful_scans(statement) for statement in ours]
    lines = [
        f"  {label}: {len(timed)} queries, {sum(t for t, _ in timed):.0f} ms of SQL of which COMMIT "
        f"{commits:.0f} ms; {len(ours)} SELECTs of prescribing tables executing in "
        f"{sum(ms for ms, _ in planned):.1f} ms (EXPLAIN ANALYZE)",
        f"    slowest statement {ms:.0f} ms: {text[:160]}{'...' if len(text) > 160 else ''}",
    ]
    lines += [f"    WASTEFUL SCAN: {flag}" for _, flags in planned for flag in flags]
    return lines


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--admissions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="5,000 patients and 1,000 admissions")
    args = parser.parse_args()
    if args.quick:
        args.patients, args.admissions = 5_000, 1_000
    if args.admissions + len(BAYS) * BEDS_PER_BAY > args.patients:
        parser.error("--admissions must leave at least 30 patients out of hospital")
    if args.requests < 20:
        parser.error("--requests must be at least 20 (for a p95)")
    began = time.perf_counter()
    rng = random.Random(args.seed)
    db = connection.settings_dict
    print(
        f"Database {db['NAME']} on {db['HOST'] or 'localhost'}:{db['PORT']} (reset and migrated)", flush=True
    )

    migrate_seconds = base.reset_database()
    print(f"Migrated in {migrate_seconds:.1f} s", flush=True)
    data = base.load(rng, args.patients, args.admissions)
    base_rows, base_seconds = sum(data.rows.values()), sum(data.seconds.values())
    print(
        f"Loaded {args.patients:,} patients and {args.admissions:,} admissions on {len(data.wards)} wards: "
        f"{base_rows:,} rows in {base_seconds:.1f} s",
        flush=True,
    )
    loaded, pools = load_ward(rng, data)
    # A server process does not hold the loader's 100,000 patients: let them go, so that the collector's
    # full passes during the requests walk what a server's heap holds, not them too.
    data.patients.clear()
    gc.collect()
    for part, secs in loaded.seconds.items():
        count = loaded.rows.get(part)
        print(f"  {part}: {secs:.1f} s" + (f" ({count:,} rows)" if count else ""), flush=True)
    kinds = Counter(
        Prescription.objects.filter(patient__in=loaded.patients).values_list("kind", flat=True).iterator()
    )
    load_note = (
        f"Ward: {len(loaded.patients)} patients, {sum(loaded.prescribed.values())} active prescriptions "
        f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}; {loaded.awaiting} awaiting pharmacy), "
        f"{loaded.rows['administrations']:,} administrations over {DAYS} days, "
        f"{len(pools.regular)} regular / {len(pools.as_required)} as-required / {len(pools.antimicrobial)} "
        f"antimicrobial products to draw from; load {sum(loaded.seconds.values()):.1f} s"
    )
    print(load_note, flush=True)
    round_note = round_today(loaded)
    print(round_note, flush=True)

    clients = base.Clients()
    print(f"Measuring, {args.requests} requests per page:", flush=True)
    pages = page_cases(rng, loaded, args.requests)
    fhir, fhir_notes = fhir_cases(rng, loaded, args.requests, clients)
    for note in fhir_notes:
        print(note, flush=True)
    results = []
    for label, cases in {**pages, **fhir}.items():
        connection.queries_log.clear()  # captures do not reset it, and it keeps only 9,000 queries
        results.append(base.measure(label, cases, clients))
    sql_notes = [
        line for label, cases in {**pages, **fhir}.items() for line in sql_of(label, cases[0], clients)
    ]
    recording, recording_note = measure_administration(rng, loaded, pools, args.requests, clients)
    results.append(recording)

    problems = []
    for r in results:
        if min(r.query_counts) != max(r.query_counts):
            problems.append(
                f"FAIL: {r.label}: queries vary between inputs ({r.queries}): {Counter(r.query_counts)}"
            )
        if r.failures:
            problems.append(f"FAIL: {r.label}: {r.failures} unexpected responses")
    if len(fhir) < 2:
        problems.append(
            "FAIL: FHIR MedicationRequest search was not measured both ways: " + "; ".join(fhir_notes)
        )

    print()
    print(f"{'page':<56} {'requests':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bad':>4}")
    for r in results:
        print(
            f"{r.label:<56} {len(r.latencies_ms):>8} {r.median:>10.1f} {r.p95:>8.1f} {r.queries:>8} "
            f"{r.failures:>4}"
        )
    print("queries: per request; bad: not 200 (302 for the administration) or not the expected content")
    print(load_note)
    print(round_note)
    print(recording_note)
    print("SQL of one more request of each GET page:")
    for note in sql_notes:
        print(note)
    print(
        f"Base load: {base_rows:,} rows in {base_seconds:.1f} s; migrate {migrate_seconds:.1f} s; "
        f"whole run {time.perf_counter() - began:.0f} s"
    )
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
