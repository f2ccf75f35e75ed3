"""Audit chain benchmark: what the hash chain costs a write, and how long `audit_verify` takes.

Run with `.venv/bin/python benchmarks/audit_chain.py` (about a minute), or with `--verify-rows 5000000`
for a trust-sized trail. It uses the `epr_bench` database as benchmarks/patient_index.py does, rebuilt
by `migrate` on every run.

1. Audit rows written one per transaction, as a page read writes them, by 1 and by 8 connections at
   once, with the chain trigger on and then switched off (owner only), so the difference is the
   chain's cost. The chain's advisory lock is held only while a transaction commits.
2. A list's rows: 50 patients in one INSERT (`audit_patients_shown`), chain on and off.
3. `audit_verify` over --verify-rows rows loaded in batches (each batch commits, so the database writes
   its links): rows per second and the peak memory of this process while verifying.
"""

from __future__ import annotations

# First: it points Django at epr_bench (never the development database) and sets it up.
import patient_index as base  # isort: skip

# isort: split
import argparse
import resource
import threading
import time

from django.db import connection, connections, transaction

from epr.audit.chain import verify_chain
from epr.audit.models import AuditEvent
from epr.audit.services import audit_patients_shown

DETAIL = {"path": "/patients/123/", "list": "Ward A1"}


def _one_per_transaction(per_thread: int, threads: int) -> float:
    """Rows per second, each row its own transaction, `threads` connections writing at once."""
    barrier = threading.Barrier(threads + 1)

    def write() -> None:
        barrier.wait()
        for i in range(per_thread):
            AuditEvent.objects.create(
                action="view", channel="page", username="nurse", patient_id=i, detail=DETAIL
            )
        connections.close_all()

    workers = [threading.Thread(target=write) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - started)


def _lists(count: int) -> float:
    """Rows per second written as 50-patient lists, one list per transaction."""
    started = time.perf_counter()
    for _ in range(count):
        with transaction.atomic():
            audit_patients_shown(user=None, action="list", patient_ids=range(50), detail=DETAIL)
    return count * 50 / (time.perf_counter() - started)


def _chain(enabled: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE audit_auditevent {'ENABLE' if enabled else 'DISABLE'} TRIGGER audit_event_chain"
        )


def _load(rows: int, batch: int = 50_000) -> None:
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditevent (username, role, api_client, patient_id, action, object_type,"
                " object_id, channel, break_glass_reason, detail)"
                " SELECT 'nurse' || (g %% 40), 'nurse', '', g %% 100000, 'view', 'records.Patient', g::text,"
                " 'page', '', jsonb_build_object('path', '/patients/' || g || '/')"
                " FROM generate_series(1, %s) g",
                [n],
            )
        done += n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000, help="rows per connection in part 1")
    parser.add_argument("--lists", type=int, default=200, help="50-patient lists in part 2")
    parser.add_argument("--verify-rows", type=int, default=1_000_000, help="rows to verify in part 3")
    args = parser.parse_args()
    print(f"migrate: {base.reset_database():.1f} s")

    print("\n1. one audit row per transaction (rows/s)")
    print(f"{'connections':>12} {'chain on':>10} {'chain off':>10} {'cost':>7}")
    for threads in (1, 8):
        on = _one_per_transaction(args.rows // threads, threads)
        _chain(False)
        off = _one_per_transaction(args.rows // threads, threads)
        _chain(True)
        print(f"{threads:>12} {on:>10,.0f} {off:>10,.0f} {100 * (off - on) / off:>6.0f}%")

    print("\n2. 50-patient lists, one per transaction (rows/s)")
    on = _lists(args.lists)
    _chain(False)
    off = _lists(args.lists)
    _chain(True)
    print(f"chain on {on:,.0f}   chain off {off:,.0f}   cost {100 * (off - on) / off:.0f}%")

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent, audit_chainlink")
    started = time.perf_counter()
    _load(args.verify_rows)
    loaded = time.perf_counter() - started
    print(f"\n3. audit_verify over {args.verify_rows:,} rows (loaded with their links in {loaded:.1f} s)")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = verify_chain()
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert report.unbroken, report
    assert report.rows == args.verify_rows, report
    print(
        f"verified in {took:.1f} s ({args.verify_rows / took:,.0f} rows/s); peak memory {peak / 1024:.0f} MB"
        f" (+{(peak - before) / 1024:.0f} MB while verifying)"
    )


if __name__ == "__main__":
    main()
