"""HTTP throughput under a real server: the app against a bare-Django ceiling, side by side.

Run with `make bench-http`, or for a quick look `.venv/bin/python benchmarks/throughput.py
--patients 5000 --admissions 1000 --sets 20000 --duration 3 --rounds 1`.

It loads the benchmark data into its own database, epr_bench (as benchmarks/observations.py does:
100,000 patients, 20,000 admissions and 5 million observation sets by default), then starts two
gunicorn servers on that database:
- the app, with the production settings (DEBUG off; plain HTTP as behind a TLS-terminating proxy);
- the ceiling, benchmarks/ceiling.py: one Django view, no middleware, one indexed query, JSON out.
Both get the same workers and the same persistent database connections. wrk then drives each case
against the app and the ceiling alternately (A B A B ...), and the script prints requests per second,
median and 99th-percentile latency, the ratio to the ceiling, and whether every request wrote its
audit row. wrk comes from Debian; the script installs it first if it is missing (needs root).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import observations as obs_bench  # noqa: E402  (sets up Django on epr_bench)

base = obs_bench.base

import secrets  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken  # noqa: E402

from epr.accounts.services import api_client_create  # noqa: E402
from epr.audit.models import AuditEvent  # noqa: E402
from records.models import ObservationSet, Patient, WardStay  # noqa: E402

APP_PORT, CEILING_PORT = 8011, 8012
PATHS_PER_CASE = 500


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("Installing wrk (Debian package)...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk is not installed and could not be installed")


@dataclass
class Case:
    label: str
    paths: list[str]
    headers: dict[str, str]
    method: str = "GET"
    body_template: str = ""  # for POST: Lua string.format template, %d patient id, %s time, %d value
    patient_ids: list[int] = field(default_factory=list)
    rows_per_request: int = 1  # audit rows one request writes


@dataclass
class Run:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def lua_script(case: Case, directory: Path) -> Path:
    paths_file = directory / f"{abs(hash(case.label))}.paths"
    paths_file.write_text("\n".join(case.paths) + "\n")
    headers = ", ".join(f'["{k}"] = "{v}"' for k, v in case.headers.items())
    if case.method == "POST":
        ids_file = directory / f"{abs(hash(case.label))}.ids"
        ids_file.write_text("\n".join(map(str, case.patient_ids)) + "\n")
        request = f"""
local ids = {{}}
for line in io.lines("{ids_file}") do ids[#ids + 1] = tonumber(line) end
local now = os.time()
init = function(args) math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16)) end
request = function()
  local id = ids[math.random(#ids)]
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", now - math.random(60, 3 * 86400))
  local body = string.format('{case.body_template}', id, at, math.random(50, 110))
  return wrk.format("POST", "{case.paths[0]}", headers, body)
end
"""
    else:
        request = f"""
local paths = {{}}
for line in io.lines("{paths_file}") do paths[#paths + 1] = line end
local i = 0
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16))
  i = math.random(#paths)
end
request = function()
  i = i % #paths + 1
  return wrk.format("{case.method}", paths[i], headers)
end
"""
    script = directory / f"{abs(hash(case.label))}.lua"
    script.write_text(
        f"""
local headers = {{{headers}}}
{request}
done = function(summary, latency, requests)
  io.write(string.format("EPR %d %f %f %f %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""
    )
    return script


def run_wrk(wrk: str, port: int, script: Path, args: argparse.Namespace) -> Run:
    out = subprocess.run(
        [
            wrk,
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^EPR (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$", out, re.M)
    if not match:
        sys.exit(f"wrk printed no summary:\n{out}")
    requests, seconds, p50, p99, errors = match.groups()
    return Run(
        int(requests), float(seconds), int(requests) / float(seconds), float(p50), float(p99), int(errors)
    )


def wait_until_up(port: int, path: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"The server on port {port} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.3)
    sys.exit(f"The server on port {port} did not start")


@contextmanager
def server(module: str, port: int, env: dict[str, str], workers: int, probe: str) -> Iterator[None]:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            module,
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=str(BENCH_DIR.parent),
    )
    try:
        wait_until_up(port, probe, process)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def server_environment() -> dict[str, str]:
    """The production settings on the benchmark database, with this process's secret key so the
    sessions made here are valid there."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "epr.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",  # TLS ends at the proxy in front
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        "EPR_CEILING_DATABASE_URL": url,
    }
    env.pop("DATABASE_MIGRATE_URL", None)
    env.pop("EPR_DB_NAME", None)
    return env


def token(scopes: list[str], name: str) -> str:
    api_client, _ = api_client_create(name=name, scopes=scopes)
    return AccessToken.objects.create(
        application=api_client.application,
        token=secrets.token_urlsafe(32),
        scope=" ".join(scopes),
        expires=timezone.now() + timedelta(hours=4),
    ).token


def nurse_session(data) -> tuple[str, int]:
    """A signed-in nurse's session cookie, and the ward whose list she sees first."""
    ward_id, nurse = next((w, n) for w, n in data.nurses.items() if data.occupancy.get(w))
    client = Client()
    client.force_login(nurse)
    return client.cookies[settings.SESSION_COOKIE_NAME].value, ward_id


OBSERVATION_BODY = (
    '{"resourceType":"Observation","status":"final",'
    '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",'
    '"code":"vital-signs"}]}],'
    '"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},'
    '"subject":{"reference":"Patient/%d"},"effectiveDateTime":"%s",'
    '"valueQuantity":{"value":%d,"unit":"beats per minute","system":"http://unitsofmeasure.org",'
    '"code":"/min"}}'
)


def cases(rng: random.Random, data) -> list[Case]:
    read = {"Authorization": f"Bearer {token(['system/*.read'], 'Throughput read')}"}
    write = {
        "Authorization": f"Bearer {token(['system/Observation.write'], 'Throughput write')}",
        "Content-Type": "application/fhir+json",
    }
    cookie, ward_id = nurse_session(data)
    session = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
    patients = rng.sample(data.patients, min(PATHS_PER_CASE, len(data.patients)))
    with_sets = list(
        ObservationSet.objects.values_list("patient_id", flat=True)
        .distinct()
        .order_by()[: PATHS_PER_CASE * 4]
    )
    rng.shuffle(with_sets)
    on_ward = list(
        WardStay.objects.filter(ward_id=ward_id, ended_at__isnull=True).values_list(
            "encounter__patient_id", flat=True
        )
    )
    nhs = dict(Patient.objects.filter(pk__in=[p.pk for p in patients]).values_list("pk", "nhs_number"))
    return [
        Case("FHIR Patient read", [f"/fhir/Patient/{p.pk}" for p in patients], read),
        Case(
            "FHIR Observation search (patient, _count=50)",
            [f"/fhir/Observation?patient={pid}&_count=50" for pid in with_sets[:PATHS_PER_CASE]],
            read,
        ),
        Case(
            "FHIR Patient search by identifier",
            [
                f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs[p.pk]}"
                for p in patients
                if nhs.get(p.pk)
            ],
            read,
        ),
        Case("Ward list page (nurse)", ["/wards/"], session, rows_per_request=len(on_ward)),
        Case("Patient summary page (nurse)", [f"/patients/{pid}/" for pid in on_ward], session),
        Case(
            "FHIR Observation create (POST)",
            ["/fhir/Observation"],
            write,
            method="POST",
            body_template=OBSERVATION_BODY,
            patient_ids=on_ward or [p.pk for p in patients],
        ),
    ]


def profile(case: Case, count: int) -> None:
    """Where one request's time goes: `count` requests through the whole stack in this process (the
    test settings: the same middleware and views, a fast password hasher), under cProfile."""
    settings.EPR_FHIR_VALIDATE_RESPONSES = False  # as a server runs (the test settings turn it on)
    client = Client()
    paths = (case.paths * count)[:count]
    for path in paths[:10]:  # warm up: imports, caches, the connection
        client.get(path, headers=case.headers)
    with CaptureQueriesContext(connection) as queries:
        client.get(paths[0], headers=case.headers)
    print(f"\n{case.label}: {len(queries)} queries")
    for query in queries:
        print("  ", query["sql"][:150])
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for path in paths:
        response = client.get(path, headers=case.headers)
        assert response.status_code == 200, (path, response.status_code)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"\nProfile of {case.label}: {count} requests, {elapsed / count * 1000:.2f} ms each in-process")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(r"/work/main/(epr|records)/", 30)


def audit_rows() -> int:
    return AuditEvent.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--admissions", type=int, default=20_000)
    parser.add_argument("--sets", type=int, default=5_000_000, help="observation sets in all")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per case")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", type=int, default=0, help="profile this many requests of each GET case")
    args = parser.parse_args()
    if args.sets < obs_bench.CHOSEN_SETS + args.patients:
        parser.error(f"--sets must be at least {obs_bench.CHOSEN_SETS} + --patients")
    wrk = ensure_wrk()
    rng = random.Random(args.seed)
    print(
        f"Database {connection.settings_dict['NAME']} (reset and migrated); {os.cpu_count()} CPUs", flush=True
    )
    base.reset_database()
    data = base.load(rng, args.patients, args.admissions)
    obs_bench.load_sets(rng, data, args.sets)
    print(
        f"Loaded {args.patients:,} patients, {args.admissions:,} admissions, {args.sets:,} sets", flush=True
    )
    all_cases = [c for c in cases(rng, data) if not args.only or args.only.lower() in c.label.lower()]
    if args.profile:
        for case in all_cases:
            if case.method == "GET":
                profile(case, args.profile)
        return
    connection.close()  # the servers get the database to themselves

    env = server_environment()
    subprocess.run(  # the pages need the hashed static files, as a deployment has them
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=env,
        cwd=BENCH_DIR.parent,
        check=True,
    )
    results: list[tuple[Case, list[Run], list[Run], int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ceiling_case = Case("ceiling", [f"/patient/{p.pk}" for p in data.patients[:PATHS_PER_CASE]], {})
        ceiling_script = lua_script(ceiling_case, directory)
        with (
            server("epr.wsgi", APP_PORT, env, args.workers, "/fhir/metadata"),
            server(
                "ceiling:application", CEILING_PORT, {**env, "PYTHONPATH": str(BENCH_DIR)}, args.workers, "/"
            ),
        ):
            for case in all_cases:
                script = lua_script(case, directory)
                app_runs, ceiling_runs, written, served = [], [], 0, 0
                for _ in range(args.rounds):
                    before = audit_rows()
                    run = run_wrk(wrk, APP_PORT, script, args)
                    written += audit_rows() - before
                    served += run.requests
                    connection.close()
                    app_runs.append(run)
                    ceiling_runs.append(run_wrk(wrk, CEILING_PORT, ceiling_script, args))
                results.append((case, app_runs, ceiling_runs, written, served))
                print(f"  {case.label}: {statistics.median(r.rps for r in app_runs):,.0f} req/s", flush=True)

    print()
    print(
        f"gunicorn {args.workers} workers each; wrk {args.threads} threads, {args.connections} connections, "
        f"{args.duration} s runs, {args.rounds} rounds A B; medians of the rounds"
    )
    columns = f"{'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ceiling':>8} {'ratio':>6} {'errors':>6}"
    print(f"{'case':<46} {columns}  audit")
    for case, app_runs, ceiling_runs, written, served in results:
        rps = statistics.median(r.rps for r in app_runs)
        ceiling = statistics.median(r.rps for r in ceiling_runs)
        expected = served * case.rows_per_request
        audit = "every request" if written >= expected else f"{written:,} rows for {expected:,} expected"
        print(
            f"{case.label:<46} {rps:>7,.0f} {statistics.median(r.p50_ms for r in app_runs):>7.1f} "
            f"{statistics.median(r.p99_ms for r in app_runs):>7.1f} {ceiling:>8,.0f} {rps / ceiling:>6.2f} "
            f"{sum(r.errors for r in app_runs):>6}  {audit}"
        )
    print("errors: non-2xx/3xx responses and socket errors, over all rounds (should be 0)")
    print(
        "audit: rows written against requests served x rows per request (a list page writes one per patient)"
    )


if __name__ == "__main__":
    main()
