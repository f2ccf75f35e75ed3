"""Results benchmark: 1 million laboratory results (50,000 reports) on top of 100,000 patients, measured
through the full stack (issue 11).

Run the whole thing (about 4 minutes on 2 cores):

    .venv/bin/python benchmarks/orders.py

or a quick check that it works (5,000 patients, 2,000 reports, 20 requests each: half a minute after the
migration, which takes 40 s or so): `.venv/bin/python benchmarks/orders.py --quick`.

It uses the same database as `make bench` (benchmarks/patient_index.py), `epr_bench`, never the
development data, and rebuilds it: migrate from scratch, then the same 100,000 patients and 20,000
admissions (patient_index's loader). The benchmarks reset the same database, so do not run them at the
same time.

Then, by COPY as patient_index loads its patients (the services are not used: 1 million rows through them
would take an hour; the rows are what results_receive leaves behind): 50,000 results messages as a
laboratory sends them (one ORU^R01 with one report each: InboundMessage with the message's ER7 text and
its AA acknowledgement, ResultReport, and 20 ResultObservation, so 1,000,000 values) for 2,000 patients.
One of them, in hospital (an admission from the base load), has 500 reports over two years; the other
49,500 are spread at random over the other 1,999 patients (at least one each), over three years. Each
report is either a full blood count with differential or a renal, liver and bone profile: 20 LOINC-coded
values each, with units and reference ranges as a UK laboratory sends them, drawn around the middle of
the range so that about one value in 60 falls outside it and is flagged (H, L, and HH or LL beyond 20%);
one profile in 300 has a critical potassium (6.6 to 7.4 mmol/L). The report's abnormal and critical
marks are computed as the service computes them (orders.rules.hl7, orders.policy's critical limits).
Every report is unsolicited (no order) and final; each patient's newest 3 wait for acknowledgement and
the rest were acknowledged by a consultant ("no action") a few hours after they were filed. No history
or audit rows are written for the bulk load: neither the results page nor the FHIR search reads them.
Then ANALYZE.

Measured (--requests each, inputs drawn with --seed):
- ingesting one result end to end: POST /hl7/v2 of a new 20-value ORU^R01 (a unique MSH-10 each) for a
  random one of the 2,000 patients (not the 500-report one), through django.test.Client with a system
  client's bearer token (POST /o/token/, client credentials, scope system/DiagnosticReport.write): the
  full middleware stack, parse, match, file, the abnormal or critical alert (Celery runs eagerly in the
  test settings, so the alert task runs in the request, at its commit) and the ACK. Each answer must be
  MSA|AA and the report filed to that patient. 2 x --requests posts after one warm-up: the first half
  with queries captured, the second timed;
- the results page (GET /patients/<id>/results/) of the 500-report patient, as the consultant of the team
  the patient is admitted under (a care relationship): 3 reports waiting for acknowledgement and the
  cumulative table of the latest 20 of the 500;
- FHIR DiagnosticReport?patient=<id>&_count=50 as a system client (bearer token, scope
  system/DiagnosticReport.read), for random patients of the 2,000 and for the 500-report patient (50
  reports with 1,000 contained Observations): a Bundle with the patient's total and a full page.
Each GET is requested twice per input as in patient_index: once with queries captured (warm-up, check,
query count), once timed. FHIR responses are not validated against the FHIR models (the test settings
turn that on; a server does not pay for it).

Before measuring, the loader's 100,000 Patient objects are let go (a server process does not hold them).
Every GET must keep the same number of queries for every input: if one does not, a FAIL line is printed
and the run exits non-zero (so it does for any unexpected response). Last, one more request of each is
captured: its SQL time (COMMIT apart: the audit chain's trigger runs then) and its slowest statement; with
--profile, 10 more of each run under cProfile and the functions taking the most time are printed.
"""

from __future__ import annotations

# First: it points Django at epr_bench (never the development database) and sets it up.
import patient_index as base  # isort: skip

# isort: split
import argparse
import cProfile
import gc
import logging
import pstats
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from psycopg import sql

from epr.accounts.models import User
from epr.accounts.roles import Role
from orders import policy
from orders.models import AckAction, Filing, InboundMessage, ResultObservation, ResultReport
from orders.rules.hl7 import LONDON, ack, critical_reason, escape, is_abnormal
from records.models import Encounter, Patient

READ_SCOPE = "system/DiagnosticReport.read"
WRITE_SCOPE = "system/DiagnosticReport.write"
SENDER_APPLICATION, SENDER_FACILITY = "WINPATH", "PATHOLOGY"
ER7 = "x-application/hl7-v2+er7"
WAITING = 3  # each patient's newest reports not yet acknowledged
BIG_REPORTS = 500
BIG_DAYS = 2 * 365
OTHER_DAYS = 3 * 365
CRITICAL_SHARE = 1 / 300  # profiles with a critical potassium
SPREAD = 4.5  # a value's standard deviation is the reference range's width over this
FLUSH_ROWS = 100_000  # observations generated before they are copied
COUNT = 50  # FHIR page size
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
ORDERS_TABLES = [m._meta.db_table for m in (InboundMessage, ResultReport, ResultObservation)]
# Eager Celery still builds a broker connection once, and kombu warns that filesystem:// has no host.
logging.getLogger("kombu.connection").setLevel(logging.ERROR)


# --- the tests --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analyte:
    code: str  # LOINC
    name: str
    unit: str
    reference: str  # "low-high", or one-sided (">90")
    low: float
    high: float
    places: int

    @classmethod
    def of(cls, code: str, name: str, unit: str, reference: str, low: float = 0, high: float = 0) -> Analyte:
        if "-" in reference:
            low_text, high_text = reference.split("-")
            low, high = float(low_text), float(high_text)
            places = max(len(low_text.partition(".")[2]), len(high_text.partition(".")[2]))
        else:
            places = 0
        return cls(code, name, unit, reference, low, high, places)


# (OBR-4 code, name, the 20 values): what a district general hospital's laboratory sends most.
PANELS = [
    (
        "FBC",
        "Full blood count",
        [
            Analyte.of("718-7", "Haemoglobin", "g/L", "130-180"),
            Analyte.of("6690-2", "White cell count", "10*9/L", "4.0-11.0"),
            Analyte.of("777-3", "Platelets", "10*9/L", "150-400"),
            Analyte.of("789-8", "Red cell count", "10*12/L", "4.50-6.50"),
            Analyte.of("4544-3", "Haematocrit", "L/L", "0.40-0.52"),
            Analyte.of("787-2", "MCV", "fL", "80-100"),
            Analyte.of("785-6", "MCH", "pg", "27.0-32.0"),
            Analyte.of("786-4", "MCHC", "g/L", "320-360"),
            Analyte.of("788-0", "RDW", "%", "11.5-15.0"),
            Analyte.of("32623-1", "MPV", "fL", "7.0-13.0"),
            Analyte.of("26499-4", "Neutrophils", "10*9/L", "2.0-7.5"),
            Analyte.of("26474-7", "Lymphocytes", "10*9/L", "1.0-4.0"),
            Analyte.of("26484-6", "Monocytes", "10*9/L", "0.2-1.0"),
            Analyte.of("26449-9", "Eosinophils", "10*9/L", "0.0-0.4"),
            Analyte.of("26444-0", "Basophils", "10*9/L", "0.0-0.1"),
            Analyte.of("770-8", "Neutrophils %", "%", "40-75"),
            Analyte.of("736-9", "Lymphocytes %", "%", "20-45"),
            Analyte.of("5905-5", "Monocytes %", "%", "2-10"),
            Analyte.of("713-8", "Eosinophils %", "%", "1-6"),
            Analyte.of("706-2", "Basophils %", "%", "0-1"),
        ],
    ),
    (
        "PROF",
        "Renal, liver and bone profile",
        [
            Analyte.of("2951-2", "Sodium", "mmol/L", "133-146"),
            Analyte.of("2823-3", "Potassium", "mmol/L", "3.5-5.3"),
            Analyte.of("2075-0", "Chloride", "mmol/L", "95-108"),
            Analyte.of("1963-8", "Bicarbonate", "mmol/L", "22-29"),
            Analyte.of("22664-7", "Urea", "mmol/L", "2.5-7.8"),
            Analyte.of("14682-9", "Creatinine", "umol/L", "59-104"),
            Analyte.of("62238-1", "eGFR", "mL/min/1.73m2", ">90", 30, 120),
            Analyte.of("2345-7", "Glucose", "mmol/L", "3.0-7.8"),
            Analyte.of("1742-6", "ALT", "U/L", "0-41"),
            Analyte.of("6768-6", "Alkaline phosphatase", "U/L", "30-130"),
            Analyte.of("14631-6", "Bilirubin", "umol/L", "0-21"),
            Analyte.of("1751-7", "Albumin", "g/L", "35-50"),
            Analyte.of("2885-2", "Total protein", "g/L", "60-80"),
            Analyte.of("2324-2", "Gamma GT", "U/L", "0-60"),
            Analyte.of("17861-6", "Calcium", "mmol/L", "2.20-2.60"),
            Analyte.of("29265-6", "Adjusted calcium", "mmol/L", "2.20-2.60"),
            Analyte.of("14879-1", "Phosphate", "mmol/L", "0.80-1.50"),
            Analyte.of("2601-3", "Magnesium", "mmol/L", "0.70-1.00"),
            Analyte.of("14933-6", "Urate", "umol/L", "200-430"),
            Analyte.of("1988-5", "CRP", "mg/L", "0-5"),
        ],
    ),
]
POTASSIUM = "2823-3"


@dataclass(frozen=True)
class Value:
    analyte: Analyte
    number: Decimal
    flag: str


def flag_of(analyte: Analyte, value: float) -> str:
    """As the sample messages flag (orders.samples): H or L outside the range, HH or LL beyond 20%."""
    if "-" not in analyte.reference:
        return ""
    if value < analyte.low:
        return "LL" if value < analyte.low * 0.8 else "L"
    if value > analyte.high:
        return "HH" if value > analyte.high * 1.2 else "H"
    return ""


def draw_values(rng: random.Random, analytes: list[Analyte]) -> list[Value]:
    values = []
    critical = any(a.code == POTASSIUM for a in analytes) and rng.random() < CRITICAL_SHARE
    for a in analytes:
        if a.code == POTASSIUM and critical:
            number = rng.uniform(6.6, 7.4)
        elif "-" in a.reference:
            number = max(0.0, rng.gauss((a.low + a.high) / 2, (a.high - a.low) / SPREAD))
        else:
            number = rng.uniform(a.low, a.high)
        text = f"{number:.{a.places}f}"
        values.append(Value(a, Decimal(text), flag_of(a, float(text))))
    return values


def oru(
    patient: Patient,
    panel: tuple[str, str, list[Analyte]],
    values: list[Value],
    *,
    control: str,
    taken: datetime,
) -> str:
    """The ORU^R01 a laboratory sends for one report (the shape of orders.samples.oru_for, 20 values)."""
    code, name, _ = panel
    stamp = taken.astimezone(LONDON).strftime("%Y%m%d%H%M")
    born = patient.date_of_birth.strftime("%Y%m%d") if patient.date_of_birth else ""
    obr = ["OBR", "1", "", f"L{control[-10:]}", f"{code}^{name}^L"] + [""] * 21
    obr[7], obr[22], obr[25] = stamp, stamp, "F"
    segments = [
        f"MSH|^~\\&|{SENDER_APPLICATION}|{SENDER_FACILITY}|EPR|WARDS|{stamp}||ORU^R01^ORU_R01|{control}|P|2.4",
        f"PID|||{patient.hospital_number}^^^RXX^MR~{patient.nhs_number}^^^NHS^NH||"
        f"{escape(patient.family_name)}^{escape(patient.given_names)}||{born}",
        "|".join(obr),
    ]
    segments += [
        f"OBX|{n}|NM|{v.analyte.code}^{v.analyte.name}^LN||{v.number:f}|{v.analyte.unit}|"
        f"{v.analyte.reference}|{v.flag}|||F"
        for n, v in enumerate(values, start=1)
    ]
    return "\r".join(segments) + "\r"


def header_of(control: str) -> dict[str, str]:
    """The parsed MSH, as orders.rules.hl7 reads it, for the stored ACK."""
    return {
        "sending_application": SENDER_APPLICATION,
        "sending_facility": SENDER_FACILITY,
        "receiving_application": "EPR",
        "receiving_facility": "WARDS",
        "control_id": control,
        "processing_id": "P",
        "version": "2.4",
    }


# --- loading ----------------------------------------------------------------------------------------


def copy_rows(model: type[models.Model], rows: Iterable[tuple[Any, ...]]) -> int:
    """COPY rows (every concrete column, in the model's order) into the model's table."""
    columns = [f.column for f in model._meta.concrete_fields]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            assert len(row) == len(columns), f"{model.__name__}: {len(row)} values for {len(columns)} columns"
            copy.write_row(row)
            count += 1
    return count


@dataclass
class ResultsLoaded:
    big: Patient  # the patient with 500 reports, in hospital
    doctor: User  # the consultant of the team the big patient is admitted under
    patients: list[Patient]  # the 2,000 with results, the big one first
    reports_of: Counter  # patient id -> reports filed
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def report_times(rng: random.Random, count: int, days: int, now: datetime) -> list[datetime]:
    """When each of a patient's specimens was taken, oldest first (at least an hour ago)."""
    return sorted(now - timedelta(minutes=rng.randint(60, days * 24 * 60)) for _ in range(count))


def load_results(
    rng: random.Random, data: base.Loaded, total_reports: int, patient_count: int
) -> ResultsLoaded:
    now = timezone.now()
    started = time.perf_counter()
    active = {
        e.patient_id: e
        for e in Encounter.objects.filter(status="active").select_related("team__consultant").order_by("pk")
    }
    by_id = {p.pk: p for p in data.patients}
    big = by_id[rng.choice(sorted(active))]
    encounter = active[big.pk]
    assert encounter.team is not None, "patient_index admits under a team"
    doctor = encounter.team.consultant
    others = rng.sample([p for p in data.patients if p.pk != big.pk], patient_count - 1)
    counts = Counter({big.pk: BIG_REPORTS, **{p.pk: 1 for p in others}})
    for p in rng.choices(others, k=total_reports - BIG_REPORTS - len(others)):
        counts[p.pk] += 1
    acknowledgers = list(User.objects.filter(role=Role.DOCTOR).order_by("pk").values_list("pk", flat=True))
    limits = policy.critical_limits()

    message_id = (InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    report_id = (ResultReport.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    observation_id = (ResultObservation.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    messages: list[tuple[Any, ...]] = []
    reports: list[tuple[Any, ...]] = []
    observations: list[tuple[Any, ...]] = []
    rows = Counter[str]()

    def flush() -> None:
        rows["messages"] += copy_rows(InboundMessage, messages)
        rows["reports"] += copy_rows(ResultReport, reports)
        rows["observations"] += copy_rows(ResultObservation, observations)
        messages.clear()
        reports.clear()
        observations.clear()

    for patient in [big, *others]:
        times = report_times(rng, counts[patient.pk], BIG_DAYS if patient is big else OTHER_DAYS, now)
        for index, taken in enumerate(times):
            panel = rng.choice(PANELS)
            values = draw_values(rng, panel[2])
            control = f"WP{report_id:010d}"
            issued = taken + timedelta(minutes=rng.randint(40, 240))
            raw = oru(patient, panel, values, control=control, taken=taken)
            messages.append(
                (
                    message_id,
                    f"{SENDER_APPLICATION}|{SENDER_FACILITY}",
                    control,
                    "ORU^R01",
                    issued,
                    "http",
                    "Pathology",
                    raw,
                    "AA",
                    ack(header_of(control), "AA", "Filed", now=issued),
                )
            )
            waiting = index >= len(times) - WAITING
            acknowledged = None if waiting else issued + timedelta(minutes=rng.randint(30, 12 * 60))
            reports.append(
                (
                    report_id,
                    message_id,
                    patient.pk,
                    Filing.UNSOLICITED.value,
                    patient.nhs_number,
                    patient.hospital_number,
                    patient.family_name,
                    patient.given_names,
                    patient.date_of_birth,
                    "",  # mismatch
                    None,  # order
                    "",  # placer number
                    f"L{control[-10:]}",
                    panel[0],
                    "L",
                    panel[1],
                    "F",
                    taken,
                    issued,
                    "",  # notes
                    issued,  # filed
                    any(is_abnormal(v.flag) for v in values),
                    any(critical_reason(v.analyte.code, v.number, v.analyte.unit, limits) for v in values),
                    None if waiting else rng.choice(acknowledgers),
                    acknowledged,
                    "" if waiting else AckAction.NO_ACTION.value,
                    "",
                )
            )
            for set_id, v in enumerate(values, start=1):
                a = v.analyte
                observations.append(
                    (
                        observation_id,
                        report_id,
                        patient.pk,
                        str(set_id),
                        "NM",
                        a.code,
                        "LN",
                        a.name,
                        f"{v.number:f}",
                        v.number,
                        "",  # comparator
                        a.unit,
                        a.reference,
                        v.flag,
                        "F",
                        taken,
                        "",  # notes
                        None,  # superseded by
                    )
                )
                observation_id += 1
            message_id += 1
            report_id += 1
        if len(observations) >= FLUSH_ROWS:
            flush()
    flush()
    base.reset_sequences([InboundMessage, ResultReport, ResultObservation])
    seconds = {"results (COPY)": time.perf_counter() - started}

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, ORDERS_TABLES))))
    seconds["analyze"] = time.perf_counter() - started
    return ResultsLoaded(
        big=big,
        doctor=doctor,
        patients=[big, *others],
        reports_of=counts,
        rows={"results (COPY)": sum(rows.values())},
        seconds=seconds,
    )


# --- measuring --------------------------------------------------------------------------------------


@dataclass
class Posting:
    patient: Patient
    control: str
    body: str


class Ingest:
    """New ORU^R01 messages for random patients with results, and posting them."""

    def __init__(self, rng: random.Random, loaded: ResultsLoaded, headers: dict[str, str]) -> None:
        self.rng, self.loaded, self.headers = rng, loaded, headers
        self.client = Client()
        self.path = reverse("orders:hl7_results")
        self.number = 0

    def message(self) -> Posting:
        self.number += 1
        patient = self.rng.choice(self.loaded.patients[1:])  # the 500-report patient keeps 500
        panel = self.rng.choice(PANELS)
        control = f"BENCH{self.number:09d}"
        taken = timezone.now() - timedelta(minutes=self.rng.randint(60, 180))
        body = oru(patient, panel, draw_values(self.rng, panel[2]), control=control, taken=taken)
        return Posting(patient, control, body)

    def post(self, posting: Posting) -> Any:
        return self.client.post(self.path, posting.body, content_type=ER7, headers=self.headers)

    def filed(self, response: Any, posting: Posting) -> bool:
        """Answered AA, and one report filed to the patient the message names."""
        answered = response.status_code == 200 and f"MSA|AA|{posting.control}|" in response.content.decode()
        filed = list(
            ResultReport.objects.filter(message__control_id=posting.control).values_list(
                "patient_id", flat=True
            )
        )
        if filed == [posting.patient.pk]:
            self.loaded.reports_of[posting.patient.pk] += 1
        return answered and filed == [posting.patient.pk]


def measure_ingest(ingest: Ingest, count: int) -> tuple[base.Result, str]:
    label = "POST /hl7/v2 ORU^R01, 20 OBX (system client)"
    before = ResultReport.objects.count()
    first = ingest.message()
    failures = int(not ingest.filed(ingest.post(first), first))  # fill per-process caches
    query_counts = []
    for _ in range(count):  # warm-up, checks and query counts
        posting = ingest.message()
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            response = ingest.post(posting)
        query_counts.append(len(captured))
        failures += not ingest.filed(response, posting)
    latencies = []
    for _ in range(count):
        posting = ingest.message()
        started = time.perf_counter()
        response = ingest.post(posting)
        latencies.append((time.perf_counter() - started) * 1000)
        failures += not ingest.filed(response, posting)
    result = base.Result(label, latencies, query_counts, failures)
    base.say(result)
    made = ResultReport.objects.count() - before
    by_count = Counter(query_counts)
    note = (
        f"Ingest: {2 * count + 1} POSTs filed {made} reports ({made * 20:,} values); queries per POST "
        + ", ".join(f"{n} ({times} posts)" for n, times in sorted(by_count.items()))
        + " (more when a value is flagged: the alert task runs in the request, at its commit)"
    )
    return result, note


def bundle_of(patient_id: int, loaded: ResultsLoaded) -> Callable[[Any], bool]:
    def check(response: Any) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        entries = body.get("entry", [])
        expected = loaded.reports_of[patient_id]
        return (
            body.get("resourceType") == "Bundle"
            and body.get("total") == expected
            and len(entries) == min(COUNT, expected)
            and all(
                e["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
                and len(e["resource"]["contained"]) == 20
                for e in entries
            )
        )

    return check


def cases(
    rng: random.Random, loaded: ResultsLoaded, count: int, headers: dict[str, str]
) -> dict[str, list[base.Case]]:
    big = loaded.big
    page = reverse("orders:results", args=[big.pk])

    def results_page(response: Any) -> bool:
        text = response.content.decode()
        return (
            'data-testid="cumulative"' in text
            and text.count('data-testid="waiting-report"') == WAITING
            and text.count('data-testid="acknowledged"') == 20 - WAITING
        )

    def fhir(patient_id: int) -> str:
        return "/fhir/DiagnosticReport?" + urlencode({"patient": patient_id, "_count": COUNT})

    picks = [rng.choice(loaded.patients[1:]).pk for _ in range(count)]
    return {
        f"results page, {BIG_REPORTS} reports (consultant)": [base.Case(loaded.doctor, page, results_page)]
        * count,
        "FHIR DiagnosticReport?patient&_count=50 (random)": [
            base.Case(None, fhir(pk), bundle_of(pk, loaded), headers) for pk in picks
        ],
        f"FHIR DiagnosticReport?patient&_count=50 ({BIG_REPORTS} reports)": [
            base.Case(None, fhir(big.pk), bundle_of(big.pk, loaded), headers)
        ]
        * count,
    }


def sql_of(label: str, send: Callable[[], Any]) -> list[str]:
    """One more request: its SQL time (COMMIT apart: the audit chain's trigger runs then) and its slowest
    statement."""
    connection.queries_log.clear()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        send()
    took = (time.perf_counter() - started) * 1000
    timed = [(float(q["time"]) * 1000, " ".join(q["sql"].split())) for q in captured.captured_queries]
    commits = sum(ms for ms, text in timed if text.upper().startswith("COMMIT"))
    statements = [(ms, text) for ms, text in timed if not text.upper().startswith(TRANSACTION_CONTROL)]
    ms, text = max(statements)
    return [
        f"  {label}: {took:.0f} ms, {len(timed)} queries, {sum(t for t, _ in timed):.0f} ms of SQL of which "
        f"COMMIT {commits:.0f} ms",
        f"    slowest statement {ms:.1f} ms: {text[:160]}{'...' if len(text) > 160 else ''}",
    ]


def profiled(label: str, send: Callable[[], Any], times: int = 10, top: int = 10) -> list[str]:
    """`times` requests under cProfile: the functions with the most time of their own, and the app's own
    functions (not the libraries') with the most time under them."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        send()
    profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(tottime for _, _, tottime, _, _ in stats.values())

    def name(key: tuple[str, int, str]) -> str:
        path, line, function = key
        return f"{path.removeprefix(str(base.ROOT) + '/').split('site-packages/')[-1]}:{line}({function})"

    own = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    ours = [
        item
        for item in sorted(stats.items(), key=lambda item: -item[1][3])
        if item[0][0].startswith(str(base.ROOT))
        and not any(part in item[0][0] for part in ("/.venv/", "/benchmarks/", "middleware"))
        and item[0][2] != "dispatch"
    ][:top]
    lines = [
        f"  {label}: {total / times * 1000:.0f} ms a request under the profiler; most time of their own:"
    ]
    lines += [f"    {v[2] / times * 1000:6.1f} ms  {name(k)}" for k, v in own]
    lines.append("    the app's functions (middleware apart), with what they call:")
    lines += [f"    {v[3] / times * 1000:6.1f} ms  {name(k)}" for k, v in ours]
    return lines


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--admissions", type=int, default=20_000)
    parser.add_argument("--reports", type=int, default=50_000, help="reports of 20 values each")
    parser.add_argument("--result-patients", type=int, default=2_000, help="patients the reports are for")
    parser.add_argument("--requests", type=int, help="requests per measurement (50; 20 with --quick)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="10 more requests of each under cProfile")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5,000 patients, 1,000 admissions, 2,000 reports for 200 patients, 20 requests",
    )
    args = parser.parse_args()
    if args.quick:
        args.patients, args.admissions, args.reports, args.result_patients = 5_000, 1_000, 2_000, 200
    args.requests = args.requests or (20 if args.quick else 50)
    if args.requests < 20:
        parser.error("--requests must be at least 20 (for a p95)")
    if args.reports < BIG_REPORTS + args.result_patients - 1:
        parser.error(f"--reports must give {BIG_REPORTS} to one patient and at least one to each other")
    if args.result_patients > args.patients or args.admissions < 1:
        parser.error("--result-patients cannot exceed --patients, and one patient must be in hospital")
    settings.EPR_FHIR_VALIDATE_RESPONSES = False  # as a server runs (the test settings turn it on)
    # A worker reads a bearer token's row again every EPR_TOKEN_CACHE_SECONDS (10): one query in 10 s,
    # which would make a page's query count vary. The benchmark holds it for the run.
    settings.EPR_TOKEN_CACHE_SECONDS = 3600
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
    loaded = load_results(rng, data, args.reports, args.result_patients)
    # A server process does not hold the loader's 100,000 patients: let them go (the 2,000 with results
    # are kept, as the inputs), so that the collector's full passes walk what a server's heap holds.
    data.patients.clear()
    gc.collect()
    load_seconds = sum(loaded.seconds.values())
    for part, secs in loaded.seconds.items():
        count = loaded.rows.get(part)
        print(f"  {part}: {secs:.1f} s" + (f" ({count:,} rows, {count / secs:,.0f} rows/s)" if count else ""))
    flagged = ResultReport.objects.filter(abnormal=True).count()
    critical = ResultReport.objects.filter(critical=True).count()
    observations = ResultObservation.objects.count()
    load_note = (
        f"Results: {args.reports:,} reports ({flagged:,} abnormal, {critical:,} critical) with "
        f"{observations:,} values for {args.result_patients:,} patients, {BIG_REPORTS} for patient "
        f"{loaded.big.pk} (in hospital); {loaded.rows['results (COPY)']:,} rows with their messages, "
        f"loaded and analysed in {load_seconds:.1f} s"
    )
    print(load_note, flush=True)

    clients = base.Clients()
    writing, reading = (
        base.bearer(WRITE_SCOPE, benchmark="Results"),
        base.bearer(READ_SCOPE, benchmark="Results"),
    )
    print(f"Measuring, {args.requests} requests each:", flush=True)
    ingest = Ingest(rng, loaded, writing)
    results = []
    ingested, ingest_note = measure_ingest(ingest, args.requests)
    results.append(ingested)
    gets = cases(rng, loaded, args.requests, reading)
    for label, page in gets.items():
        connection.queries_log.clear()  # captures do not reset it, and it keeps only 9,000 queries
        results.append(base.measure(label, page, clients))

    def sender(case: base.Case) -> Callable[[], Any]:
        return lambda: clients.get(case.user).get(case.path, headers=case.headers)

    senders = {ingested.label: lambda: ingest.post(ingest.message())}
    senders.update({label: sender(page[0]) for label, page in gets.items()})
    sql_notes = [line for label, send in senders.items() for line in sql_of(label, send)]
    profiles = (
        [line for label, send in senders.items() for line in profiled(label, send)] if args.profile else []
    )

    problems = []
    for r in results:
        if r is not ingested and min(r.query_counts) != max(r.query_counts):
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
    print("queries: per request; bad: not 200 with MSA|AA and the report filed to its patient, or not the")
    print("expected page or Bundle")
    print(load_note)
    print(ingest_note)
    print("SQL of one more request of each:")
    for note in sql_notes:
        print(note)
    if profiles:
        print("Where the time goes (cProfile, per request):")
        for line in profiles:
            print(line)
    print(
        f"Base load: {base_rows:,} rows in {base_seconds:.1f} s; migrate {migrate_seconds:.1f} s; "
        f"whole run {time.perf_counter() - began:.0f} s"
    )
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
