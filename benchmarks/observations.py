"""Observation benchmark: 5,000,000 vital-sign sets over 100,000 patients, measured through the full stack.

Run the whole thing (about 3 to 4 minutes on 2 cores, and 4 GB of disk for the two observation tables):

    .venv/bin/python benchmarks/observations.py

or a quick check: `.venv/bin/python benchmarks/observations.py --sets 200000 --requests 50`.

It uses the same database as `make bench` (benchmarks/patient_index.py), `epr_bench`, never the
development data, and rebuilds it: migrate from scratch, then the same 100,000 patients and 20,000
admissions (patient_index's loader), then --sets observation sets loaded with COPY. The two benchmarks
reset the same database, so do not run them at the same time.

The sets: one admitted patient, chosen with the seed, has exactly 2,000 (about 4-hourly over the last
11 months); the rest are spread over the other patients, admitted patients getting about three times as
many. Values come from a few thousand distinct realistic sets (mostly well, some unwell, some on oxygen,
a few incomplete), each scored once with the service's own NEWS2 scoring (score_set). Rows are loaded in
time order, as a live system would write them, so one patient's sets are scattered through the table.
Each set also gets the "+" history row that simple_history writes on create (the FHIR search reads the
history table for versions), with the same time and user. Status is final. No audit rows are loaded.
Both tables are loaded with COPY FREEZE inside the transaction that truncates them, with the secondary
indexes and foreign keys dropped and rebuilt afterwards (as a restore would); then ANALYZE.

Measured (--requests each, inputs drawn with --seed):
- the observation chart of the 2,000-set patient, as a nurse on the patient's ward: the latest 24 sets,
  and an older page (?before= the time of a set chosen at random, 24 sets before it);
- FHIR Observation search for that patient, _count=50&_sort=-date, with and without
  code=http://loinc.org|8867-4 (heart rate), as a system client (system/*.read) with a bearer token
  from POST /o/token/ (client credentials), else a nurse's session;
- recording a set that scores NEWS2 7 (POST /patients/<id>/observations/new/) for admitted patients
  drawn at random, each by a nurse on the patient's ward. Celery runs tasks eagerly in test settings and
  the client's requests commit, so the alert is raised inside the request by the on_commit hook: every
  request must create exactly one ClinicalAlert, and the count is checked.

GET pages are requested twice per input, as in patient_index: once with queries captured (warm-up,
check, query count), once timed. POSTs are done 2 x --requests times (after one warm-up), the first
half captured, the second half timed; each creates a set and an alert. Then EXPLAIN (ANALYZE,
BUFFERS) is run on every SELECT that the chart and FHIR search views sent to the observation tables,
and any sequential scan of them is reported.
"""

from __future__ import annotations

# First: it points Django at epr_bench (never the development database) and sets it up.
import patient_index as base  # isort: skip

# isort: split
import argparse
import json
import logging
import random
import sys
import time
from base64 import b64encode
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import sql

from epr.accounts.models import User
from epr.accounts.services import api_client_create
from records.models import ClinicalAlert, Encounter, EntryStatus, ObservationSet, OxygenDevice, WardStay
from records.services.observations import OBSERVATION_FIELDS, score_set

CHOSEN_SETS = 2000
TEMPLATES = 4096
HORIZON_MINUTES = 2 * 365 * 24 * 60  # sets are taken within the last two years
GAP_MINUTES = (120, 360)  # between one patient's sets: 2 to 6 hours, 4 on average
CHUNK_ROWS = 50_000
NULL = "\\N"  # COPY text format
NEWS2_SEVEN = {  # RR 22 (2), SpO2 97 (0), oxygen (2), systolic 125 (0), pulse 115 (2), A (0), 38.5 (1)
    "respiration_rate": "22",
    "spo2": "97",
    "on_oxygen": "oxygen",
    "oxygen_device": "nasal",
    "oxygen_flow": "2",
    "systolic_bp": "125",
    "diastolic_bp": "80",
    "pulse": "115",
    "consciousness": "A",
    "temperature": "38.5",
}
HEART_RATE = "http://loinc.org|8867-4"
OBS_TABLE = ObservationSet._meta.db_table
HISTORY = ObservationSet.history.model
HISTORY_TABLE = HISTORY._meta.db_table
# Eager Celery still builds a broker connection once, and kombu warns that filesystem:// has no host.
logging.getLogger("kombu.connection").setLevel(logging.ERROR)


# --- synthetic vital signs ------------------------------------------------------------------------


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def vital_signs(rng: random.Random) -> dict[str, Any]:
    """One realistic set: mostly well, some unwell, some on oxygen, a few incomplete."""
    unwell = rng.random() < 0.18
    on_oxygen = rng.random() < (0.45 if unwell else 0.07)
    systolic = _clip(rng.gauss(112 if unwell else 128, 22 if unwell else 15), 70, 210)
    values: dict[str, Any] = {
        "respiration_rate": _clip(rng.gauss(22 if unwell else 16, 4 if unwell else 2), 8, 40),
        "spo2": _clip(rng.gauss(93 if unwell else 97, 3 if unwell else 1.5), 80, 100),
        "on_oxygen": on_oxygen,
        "oxygen_device": "",
        "oxygen_flow": None,
        "systolic_bp": systolic,
        "diastolic_bp": _clip(systolic * rng.uniform(0.55, 0.72), 35, systolic - 15),
        "pulse": _clip(rng.gauss(102 if unwell else 78, 18 if unwell else 11), 38, 170),
        "consciousness": "A" if rng.random() < (0.88 if unwell else 0.995) else rng.choice("CVPU"),
        "temperature": Decimal(f"{max(34.0, min(40.5, rng.gauss(37.8 if unwell else 36.8, 0.6))):.1f}"),
        "weight": Decimal(f"{rng.uniform(45, 130):.1f}") if rng.random() < 0.08 else None,
        "height": Decimal(f"{rng.uniform(150, 195):.1f}") if rng.random() < 0.03 else None,
        "pain_score": rng.randint(0, 10) if rng.random() < 0.3 else None,
    }
    if on_oxygen:
        device = rng.choice([OxygenDevice.NASAL_CANNULA, OxygenDevice.SIMPLE_MASK, OxygenDevice.VENTURI])
        values["oxygen_device"] = device.value
        values["oxygen_flow"] = Decimal(rng.choice(["1", "2", "3", "4", "5", "6", "8", "10"]))
    if rng.random() < 0.04:  # a partial set (e.g. BP and pulse only): not scored
        for name in ("respiration_rate", "spo2", "temperature"):
            values[name] = None
        values["on_oxygen"], values["consciousness"] = None, ""
    return values


def _text(value: Any) -> str:
    """A value in COPY's text format."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        return json.dumps(value).replace("\\", "\\\\")
    return str(value)


SCORED_FIELDS = ("spo2_scale", "news2_total", "news2_scores", "news2_risk", "status", "error_reason")


def value_templates(rng: random.Random, count: int) -> tuple[list[str], Counter]:
    """`count` distinct sets scored by the service's own NEWS2 code, as COPY text of the value columns."""
    texts, seen, risks = [], set(), Counter()
    while len(texts) < count:
        obs = ObservationSet(spo2_scale=1, status=EntryStatus.FINAL, **vital_signs(rng))
        score_set(obs)
        row = [getattr(obs, name) for name in (*OBSERVATION_FIELDS, *SCORED_FIELDS)]
        text = "\t".join(_text(v) for v in row)
        if text not in seen:
            seen.add(text)
            texts.append(text)
            risks[obs.news2_risk or "not scored"] += 1
    return texts, risks


# --- bulk loading ---------------------------------------------------------------------------------


@dataclass
class SetsLoaded:
    chosen_id: int
    nurse: User  # a nurse on the chosen patient's ward
    admitted: list[tuple[int, User]]  # (patient id, a nurse on the ward) of every other admitted patient
    rows: dict[str, int]
    seconds: dict[str, float]
    risks: Counter


def set_counts(
    rng: random.Random, patient_count: int, admitted: set[int], chosen: int, total: int
) -> list[int]:
    """Sets per patient index: exactly CHOSEN_SETS for the chosen one, `total` in all."""
    weights = [(3.0 if i in admitted else 1.0) * (0.25 + 1.5 * rng.random()) for i in range(patient_count)]
    weights[chosen] = 0.0
    scale = (total - CHOSEN_SETS) / sum(weights)
    counts, running, previous = [], 0.0, 0
    for weight in weights:
        running += weight * scale
        counts.append(round(running) - previous)
        previous = round(running)
    counts[-1 if chosen != patient_count - 1 else -2] += total - CHOSEN_SETS - previous
    counts[chosen] = CHOSEN_SETS
    return counts


def schedule(
    rng: random.Random, counts: list[int], admitted: set[int], templates: int
) -> tuple[list[int], int, int]:
    """Every set as one int (minute taken, patient index, template, minutes until recorded), in time order."""
    patient_bits = max(1, len(counts).bit_length())
    template_bits = max(1, (templates - 1).bit_length())
    low, high = GAP_MINUTES
    keys: list[int] = []
    append = keys.append
    random_ = rng.random
    for index, count in enumerate(counts):
        if not count:
            continue
        if index in admitted:  # still in hospital: the last set a few hours ago
            minute = HORIZON_MINUTES - 1 - int(random_() * 240)
        else:
            span = count * high
            minute = span + int(random_() * max(1, HORIZON_MINUTES - 24 * 60 - span))
        for _ in range(count):
            template = int(random_() * templates)
            delay = int(random_() * 8)  # recorded 0-7 minutes after it was taken
            append((((minute << patient_bits) | index) << template_bits | template) << 3 | delay)
            minute -= low + int(random_() * (high - low))
            if minute < 0:
                raise ValueError(f"patient index {index}: {count} sets do not fit in the horizon")
    keys.sort()
    return keys, patient_bits, template_bits


def _indexes_and_foreign_keys(cursor, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Secondary indexes (not backing a constraint) and foreign keys of a table, with their definitions."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
        """,
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return indexes, cursor.fetchall()


def copy_freeze(table: str, columns: list[str], lines: Iterable[str]) -> tuple[float, float]:
    """Empty the table and COPY the lines in (FREEZE: no later vacuum pass), rebuilding secondary indexes
    and foreign keys after. Returns (seconds copying, seconds rebuilding)."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        indexes, foreign_keys = _indexes_and_foreign_keys(cursor, table)
        # Tables that refer to this one (alerts) are empty in the freshly migrated database.
        cursor.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.Identifier(table)))
        for name, _ in foreign_keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        for name, _ in indexes:
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cursor.copy(statement) as copy:
            for chunk in lines:
                copy.write(chunk)
        copied = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(sql.SQL(definition))  # pg_get_indexdef: trusted DDL from the catalogue
        for name, definition in foreign_keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
    return copied - started, time.perf_counter() - copied


def load_sets(rng: random.Random, data: base.Loaded, total: int) -> SetsLoaded:
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(minutes=HORIZON_MINUTES)

    started = time.perf_counter()
    templates, risks = value_templates(rng, TEMPLATES)
    seconds["NEWS2 templates"] = time.perf_counter() - started

    started = time.perf_counter()
    patient_count = len(data.patients)
    index_of = {p.pk: i for i, p in enumerate(data.patients)}
    ward_of = dict(
        WardStay.objects.filter(ended_at__isnull=True).values_list("encounter__patient_id", "ward_id")
    )
    encounter_of: dict[int, tuple[int, int]] = {}  # patient index -> (encounter id, minute admitted)
    for patient_id, encounter_id, admitted_at in Encounter.objects.filter(status="active").values_list(
        "patient_id", "pk", "admitted_at"
    ):
        minute = int((admitted_at - start).total_seconds() // 60)
        encounter_of[index_of[patient_id]] = (encounter_id, minute)
    admitted = set(encounter_of)
    chosen = rng.choice(sorted(admitted))
    counts = set_counts(rng, patient_count, admitted, chosen, total)
    keys, patient_bits, template_bits = schedule(rng, counts, admitted, len(templates))
    seconds["schedule"] = time.perf_counter() - started

    # Per patient: encounter id and admission minute (sets since then belong to it), and who records.
    nurse_ids = [n.pk for n in data.nurses.values()]
    no_encounter = (NULL, HORIZON_MINUTES * 2)
    encounter = [
        (str(encounter_of[i][0]), encounter_of[i][1]) if i in encounter_of else no_encounter
        for i in range(patient_count)
    ]
    recorder = [
        str(data.nurses[ward_of[p.pk]].pk if p.pk in ward_of else nurse_ids[i % len(nurse_ids)])
        for i, p in enumerate(data.patients)
    ]
    patient_ids = [str(p.pk) for p in data.patients]
    minute_text: dict[int, str] = {}

    def at(minute: int) -> str:
        text = minute_text.get(minute)
        if text is None:
            text = minute_text[minute] = f"{start + timedelta(minutes=minute):%Y-%m-%d %H:%M}:00+00"
        return text

    patient_mask, template_mask = (1 << patient_bits) - 1, (1 << template_bits) - 1

    def lines(history: bool) -> Iterator[str]:
        chunk: list[str] = []
        for row_id, key in enumerate(keys, start=1):
            delay = key & 7
            key >>= 3
            template = key & template_mask
            key >>= template_bits
            index = key & patient_mask
            minute = key >> patient_bits
            encounter_id, admitted_minute = encounter[index]
            recorded = at(minute + delay)
            by = recorder[index]
            head = (
                f"{row_id}\t{patient_ids[index]}\t{encounter_id if minute >= admitted_minute else NULL}"
                f"\t{at(minute)}\t{recorded}\t{by}\tform\t\t{templates[template]}"
            )
            chunk.append(f"{head}\t{row_id}\t{recorded}\t{NULL}\t+\t{by}\n" if history else f"{head}\n")
            if len(chunk) == CHUNK_ROWS:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)

    # submission_key is empty: the sets did not come from the observations form.
    head = [
        "id",
        "patient_id",
        "encounter_id",
        "taken_at",
        "recorded_at",
        "recorded_by_id",
        "source",
        "submission_key",
    ]
    values = [*OBSERVATION_FIELDS, *SCORED_FIELDS]
    history_tail = ["history_id", "history_date", "history_change_reason", "history_type", "history_user_id"]
    for label, table, columns, history in (
        ("observation sets", OBS_TABLE, [*head, *values], False),
        ("set history rows", HISTORY_TABLE, [*head, *values, *history_tail], True),
    ):
        copying, rebuilding = copy_freeze(table, columns, lines(history))
        seconds[f"{label} (COPY)"] = copying
        seconds[f"{label} (indexes, foreign keys)"] = rebuilding
        rows[f"{label} (COPY)"] = len(keys)

    started = time.perf_counter()
    base.reset_sequences([ObservationSet, HISTORY])
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("ANALYZE {}, {}").format(sql.Identifier(OBS_TABLE), sql.Identifier(HISTORY_TABLE))
        )
    seconds["analyze"] = time.perf_counter() - started

    chosen_id = data.patients[chosen].pk
    by_ward = [(pid, data.nurses[ward]) for pid, ward in ward_of.items() if pid != chosen_id]
    return SetsLoaded(
        chosen_id=chosen_id,
        nurse=data.nurses[ward_of[chosen_id]],
        admitted=sorted(by_ward, key=lambda item: item[0]),
        rows=rows,
        seconds=seconds,
        risks=risks,
    )


# --- measuring ------------------------------------------------------------------------------------


def chart_columns(expected: int) -> Callable[[Any], bool]:
    return lambda response: response.content.decode().count('class="epr-chart__time"') == expected


def chart_cases(rng: random.Random, sets: SetsLoaded, count: int) -> dict[str, list[base.Case]]:
    path = f"/patients/{sets.chosen_id}/observations/"
    taken = list(
        ObservationSet.objects.filter(patient_id=sets.chosen_id, status=EntryStatus.FINAL)
        .order_by("taken_at")
        .values_list("taken_at", flat=True)
    )
    assert len(taken) == CHOSEN_SETS, f"the chosen patient has {len(taken)} sets"
    befores = [taken[rng.randrange(24, len(taken))] for _ in range(count)]
    return {
        "chart, latest 24 (nurse on ward)": [base.Case(sets.nurse, path, chart_columns(24))] * count,
        "chart, older page ?before= (nurse)": [
            base.Case(sets.nurse, f"{path}?{urlencode({'before': b.isoformat()})}", chart_columns(24))
            for b in befores
        ],
    }


def bearer_token(clients: base.Clients) -> tuple[dict[str, str], str]:
    """A system client's token from POST /o/token/ (client credentials, HTTP basic auth)."""
    api_client, secret = api_client_create(name="Observation benchmark", scopes=["system/*.read"])
    basic = b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    response = clients.get(None).post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "system/*.read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    if response.status_code != 200:
        return {}, f"POST /o/token/ gave HTTP {response.status_code}"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}, ""


def fhir_cases(sets: SetsLoaded, count: int, clients: base.Clients) -> tuple[dict[str, list[base.Case]], str]:
    """FHIR Observation searches and how they authenticate, or why they cannot be measured (yet)."""
    plain = "/fhir/Observation?" + urlencode({"patient": sets.chosen_id, "_count": 50, "_sort": "-date"})
    coded = "/fhir/Observation?" + urlencode(
        {"patient": sets.chosen_id, "code": HEART_RATE, "_count": 50, "_sort": "-date"}
    )

    def bundle_of_50(code: str | None) -> Callable[[Any], bool]:
        def check(response) -> bool:
            try:
                body = response.json()
            except ValueError:
                return False
            entries = body.get("entry", [])
            subject = f"Patient/{sets.chosen_id}"
            return (
                body.get("resourceType") == "Bundle"
                and len(entries) == 50
                and all(e["resource"]["subject"]["reference"].endswith(subject) for e in entries)
                and (code is None or all(code in json.dumps(e["resource"]["code"]) for e in entries))
            )

        return check

    headers, token_problem = bearer_token(clients)
    reasons = [token_problem] if token_problem else []
    ways = [(None, headers, "system client bearer token (system/*.read, from /o/token/)")] if headers else []
    ways.append((sets.nurse, {}, "nurse's session (on the patient's ward)"))
    for user, auth, how in ways:
        try:
            response = clients.get(user).get(plain, headers=auth)
        except Exception as exc:  # the API is being written: report, do not crash
            reasons.append(f"{how}: {type(exc).__name__}: {exc}")
            continue
        if response.status_code == 200 and bundle_of_50(None)(response):
            return {
                "FHIR Observation?patient&_count=50&_sort=-date": [
                    base.Case(user, plain, bundle_of_50(None), auth)
                ]
                * count,
                "FHIR Observation?patient&code=8867-4&_count=50": [
                    base.Case(user, coded, bundle_of_50("8867-4"), auth)
                ]
                * count,
            }, f"FHIR Observation search: authenticated with a {how}"
        reasons.append(f"{how}: HTTP {response.status_code}")
    return {}, f"FHIR Observation search: not available ({'; '.join(reasons)})"


def measure_recording(
    rng: random.Random, sets: SetsLoaded, count: int, clients: base.Clients
) -> tuple[base.Result, str]:
    """POST a NEWS2-7 set for admitted patients; every request must leave exactly one new alert."""
    picks = [rng.choice(sets.admitted) for _ in range(2 * count)]
    alerts_before = ClinicalAlert.objects.count()
    last_set = ObservationSet.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def post(patient_id: int, nurse: User) -> Any:
        return clients.get(nurse).post(f"/patients/{patient_id}/observations/new/", NEWS2_SEVEN)

    def redirected(response, patient_id: int) -> bool:
        return response.status_code == 302 and response["Location"].endswith(
            f"/patients/{patient_id}/observations/"
        )

    def forget_messages(nurse: User) -> None:
        # The "NEWS2 7" message is shown on the next page; drop it so messages do not pile up in the session.
        clients.get(nurse).cookies.pop("messages", None)

    for _, nurse in picks:  # sign every nurse in first: logging in is not part of what is measured
        clients.get(nurse)
    query_counts, failures, one_alert_each = [], 0, 0
    post(*picks[0])  # fill per-process caches (this set and its alert are counted below)
    forget_messages(picks[0][1])
    for patient_id, nurse in picks[:count]:  # warm-up, checks and query counts
        alerts = ClinicalAlert.objects.count()
        connection.queries_log.clear()  # captures do not reset it, and it keeps only 9,000 queries
        with CaptureQueriesContext(connection) as captured:
            response = post(patient_id, nurse)
        query_counts.append(len(captured))
        failures += not redirected(response, patient_id)
        one_alert_each += ClinicalAlert.objects.count() - alerts == 1
        forget_messages(nurse)
    latencies = []
    for patient_id, nurse in picks[count:]:
        started = time.perf_counter()
        response = post(patient_id, nurse)
        latencies.append((time.perf_counter() - started) * 1000)
        failures += not redirected(response, patient_id)
        forget_messages(nurse)

    new_sets = ObservationSet.objects.filter(pk__gt=last_set)
    requests = 2 * count + 1
    alerts = ClinicalAlert.objects.count() - alerts_before
    sets_made = new_sets.count()
    sevens = new_sets.filter(news2_total=7, news2_risk="high").count()
    with_alert = new_sets.filter(alerts__kind="news2", alerts__severity="urgent").distinct().count()
    result = base.Result("record set, NEWS2 7 + alert (nurse)", latencies, query_counts, failures)
    print(
        f"  {result.label}: median {result.median:.1f} ms, p95 {result.p95:.1f} ms, queries {result.queries}"
        + (f", {failures} unexpected responses" if failures else ""),
        flush=True,
    )
    note = (
        f"Recording: {requests} POSTs made {sets_made} sets ({sevens} scored NEWS2 7, high risk) and "
        f"{alerts} ClinicalAlerts ({with_alert} sets with an urgent NEWS2 alert); "
        f"{one_alert_each} of {count} captured requests added exactly one alert"
    )
    return result, note


# --- query plans ----------------------------------------------------------------------------------


def observation_selects(client, path: str, headers: dict[str, str]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        client.get(path, headers=headers)
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and (f'"{OBS_TABLE}"' in q["sql"] or f'"{HISTORY_TABLE}"' in q["sql"])
    ]


def explain(label: str, statement: str) -> list[str]:
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own: the captured SQL has its values in already
        cursor.execute(sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + sql.SQL(statement))
        plan = [row[0] for row in cursor.fetchall()]
    execution = next((line for line in plan if line.startswith("Execution Time")), "Execution Time: ?")
    seq_scans = [line.strip() for line in plan if "Seq Scan on" in line and ("observationset" in line)]
    print(f"  {label}: {execution}")
    print(f"    SQL: {statement[:160]}{'...' if len(statement) > 160 else ''}")
    for line in plan:
        print(f"    | {line}")
    if seq_scans:
        print(f"    SEQUENTIAL SCAN of an observation table: {'; '.join(seq_scans)}")
    return seq_scans


def explain_pages(pages: dict[str, tuple[Any, str, dict[str, str]]]) -> list[str]:
    print("Query plans, EXPLAIN (ANALYZE, BUFFERS), for the 2,000-set patient:", flush=True)
    seq_scans = []
    for label, (client, path, headers) in pages.items():
        for n, statement in enumerate(observation_selects(client, path, headers), start=1):
            seq_scans += [f"{label} #{n}: {s}" for s in explain(f"{label}, query {n}", statement)]
    return seq_scans


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--admissions", type=int, default=20_000)
    parser.add_argument("--sets", type=int, default=5_000_000, help="observation sets in all")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.admissions > args.patients:
        parser.error("--admissions cannot exceed --patients")
    if args.sets < CHOSEN_SETS + args.patients:
        parser.error(f"--sets must be at least {CHOSEN_SETS} + --patients")
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
        f"{base_rows:,} rows in {base_seconds:.1f} s ({base_rows / base_seconds:,.0f} rows/s)",
        flush=True,
    )
    sets = load_sets(rng, data, args.sets)
    for part, secs in sets.seconds.items():
        count = sets.rows.get(part)
        rate = f" ({count:,} rows, {count / secs:,.0f} rows/s)" if count else ""
        print(f"  {part}: {secs:.1f} s{rate}", flush=True)
    sets_seconds = sum(sets.seconds.values())
    sizes = {}
    with connection.cursor() as cursor:
        for table in (OBS_TABLE, HISTORY_TABLE):
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s::regclass))", [table])
            sizes[table] = cursor.fetchone()[0]
    risk_mix = ", ".join(f"{risk} {n}" for risk, n in sorted(sets.risks.items()))
    load_note = (
        f"Load: {args.sets:,} observation sets (+ {args.sets:,} history rows) in {sets_seconds:.1f} s, "
        f"{args.sets / sets_seconds:,.0f} sets/s ({2 * args.sets / sets_seconds:,.0f} rows/s), all steps; "
        f"tables {sizes[OBS_TABLE]} and {sizes[HISTORY_TABLE]} with indexes; "
        f"{TEMPLATES} distinct value sets by NEWS2 risk: {risk_mix}"
    )
    print(load_note, flush=True)
    print(f"Chosen patient {sets.chosen_id}: {CHOSEN_SETS} sets; nurse {sets.nurse.username}", flush=True)

    clients = base.Clients()
    print(f"Measuring, {args.requests} requests per page:", flush=True)
    pages = chart_cases(rng, sets, args.requests)
    fhir, fhir_note = fhir_cases(sets, args.requests, clients)
    results = []
    for label, cases in {**pages, **fhir}.items():
        connection.queries_log.clear()  # captures do not reset it, and it keeps only 9,000 queries
        results.append(base.measure(label, cases, clients))
    print(fhir_note, flush=True)

    plan_pages = {label: (clients.get(c[0].user), c[0].path, c[0].headers) for label, c in pages.items()}
    plan_pages.update({label: (clients.get(c[0].user), c[0].path, c[0].headers) for label, c in fhir.items()})
    seq_scans = explain_pages(plan_pages)

    recording, recording_note = measure_recording(rng, sets, args.requests, clients)
    results.append(recording)

    print()
    print(f"{'page':<52} {'requests':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bad':>4}")
    for r in results:
        print(
            f"{r.label:<52} {len(r.latencies_ms):>8} {r.median:>10.1f} {r.p95:>8.1f} {r.queries:>8} "
            f"{r.failures:>4}"
        )
    print("bad: not 200 (302 for recording), or not the expected 24 chart columns / 50 Bundle entries")
    print(fhir_note)
    print(recording_note)
    print(
        "Sequential scans of an observation table: "
        + ("; ".join(seq_scans) if seq_scans else "none in the chart or FHIR search plans")
    )
    print(load_note)
    print(
        f"Base load: {base_rows:,} rows in {base_seconds:.1f} s; migrate {migrate_seconds:.1f} s; "
        f"whole run {time.perf_counter() - began:.0f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
