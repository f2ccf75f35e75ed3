"""Verify the audit trail's hash chain (written by the database: migration audit 0004).

Each link holds sha256(previous link's hash + the row's content); the content is every field of the row
as "<length>:<text>;". This recomputes it here from the row's plain values, so a changed trigger function
cannot vouch for itself. Rows are read in one pass with a server-side cursor, whatever the table's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

GENESIS = "0" * 64
BATCH = 5_000

# The row's fields as the database turns them into text, in the order the trigger hashes them.
CONTENT_SQL = """
    SELECT l.seq, l.event_id, l.prev_hash, l.row_hash, e.id IS NOT NULL,
           e.id::text, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
           e.user_id::text, e.username, e.role, e.api_client, e.patient_id::text, e.action,
           e.object_type, e.object_id, host(e.client_address), e.channel, e.break_glass_reason,
           e.detail::text
      FROM audit_chainlink l LEFT JOIN audit_auditevent e ON e.id = l.event_id
     ORDER BY l.seq
"""
UNLINKED_SQL = """
    SELECT e.id FROM audit_auditevent e
     WHERE NOT EXISTS (SELECT 1 FROM audit_chainlink l WHERE l.event_id = e.id)
     ORDER BY e.id LIMIT 1
"""


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head_hash: str
    broken_at_link: int | None = None
    broken_event_id: int | None = None
    problem: str = ""
    head_seen: bool | None = None  # whether an earlier head the officer kept is still in the chain

    @property
    def unbroken(self) -> bool:
        return self.broken_at_link is None and self.problem == "" and self.head_seen is not False


def content(fields: tuple[str | None, ...]) -> str:
    return "".join(f"{len(value or '')}:{value or ''};" for value in fields)


def link_hash(prev_hash: str, fields: tuple[str | None, ...]) -> str:
    return hashlib.sha256((prev_hash + content(fields)).encode("utf-8")).hexdigest()


def _links() -> Iterator[tuple[Any, ...]]:
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        # A named cursor streams rows from the server instead of loading the whole table.
        with cursor.connection.cursor(name="audit_verify") as stream:
            stream.itersize = BATCH
            stream.execute(CONTENT_SQL)
            yield from stream


def verify_chain(expected_head: str = "") -> ChainReport:
    """Walk every link in order; the first link whose position, predecessor or content does not match
    is reported, then any audit row that has no link at all (written with the chain's trigger off)."""
    previous, count, head_seen = GENESIS, 0, False
    with transaction.atomic():  # one snapshot, and the named cursor needs a transaction
        for seq, event_id, prev_hash, row_hash, present, *fields in _links():
            count += 1
            problem = _link_problem(seq, count, prev_hash, previous, row_hash, present, tuple(fields))
            if problem:
                return ChainReport(count - 1, previous, seq, event_id, problem)
            previous = row_hash
            head_seen = head_seen or row_hash == expected_head
        with connection.cursor() as cursor:
            cursor.execute(UNLINKED_SQL)
            unlinked = cursor.fetchone()
    if unlinked:
        return ChainReport(count, previous, None, unlinked[0], "this audit row is in no link of the chain")
    return ChainReport(count, previous, head_seen=head_seen if expected_head else None)


def _link_problem(
    seq: int,
    position: int,
    prev_hash: str,
    previous: str,
    row_hash: str,
    present: bool,
    fields: tuple[str | None, ...],
) -> str:
    if seq != position:
        return f"link {position} is missing (the next link is {seq})"
    if prev_hash != previous:
        return "the link does not follow the one before it"
    if not present:
        return "the audit row of this link has been removed"
    if link_hash(prev_hash, fields) != row_hash:
        return "the audit row has been changed since it was written"
    return ""
