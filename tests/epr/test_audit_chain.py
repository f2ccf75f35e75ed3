"""`manage.py audit_verify` (issue 7, item 2): the chain the database writes is proved unbroken, and each
kind of tampering by someone holding the owner's rights is named at the first row it broke."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from epr.audit.chain import verify_chain
from epr.audit.models import AuditChainLink, AuditEvent
from epr.audit.services import audit_patients_shown, audit_record

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(n: int = 5) -> list[AuditEvent]:
    """Rows with every kind of field the hash covers: no patient, accents and quotes, nested detail,
    IPv4 and IPv6 addresses, a break-glass reason."""
    events = [
        AuditEvent.objects.create(
            action="view",
            channel="page",
            username=f"zoë-{i}",
            role="nurse",
            patient_id=i if i % 2 else None,
            client_address="2001:db8::1" if i % 2 else "10.0.0.7",
            break_glass_reason='Patient "collapsed"; \\ no consent' if i == 3 else "",
            detail={"path": f"/patients/{i}/", "shown": [1, 2.5, None], "nested": {"ünï": "cödé"}},
        )
        for i in range(n)
    ]
    return events


def _as_owner_without_triggers(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_chainlink DISABLE TRIGGER USER")
        cursor.execute(statement, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_chainlink ENABLE TRIGGER USER")


def test_every_committed_row_is_linked_in_order(nurse):
    _rows(4)
    audit_record(user=nurse, action="create", patient_id=9, detail={"note": "x"})
    audit_patients_shown(user=nurse, action="list", patient_ids=[1, 2, 3], detail={"list": "Ward 7"})
    links = list(AuditChainLink.objects.order_by("seq"))
    assert [link.seq for link in links] == list(range(1, 9))
    assert sorted(link.event_id for link in links) == sorted(AuditEvent.objects.values_list("id", flat=True))
    assert all(a.row_hash == b.prev_hash for a, b in itertools.pairwise(links))
    report = verify_chain()
    assert report.unbroken and report.rows == 8 and report.head_hash == links[-1].row_hash


def test_the_command_prints_the_head(capsys):
    _rows(3)
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "Audit chain unbroken: 3 rows." in out
    assert AuditChainLink.objects.order_by("-seq").first().row_hash in out


def test_a_changed_row_is_named():
    events = _rows(5)
    _as_owner_without_triggers("UPDATE audit_auditevent SET username = 'x' WHERE id = %s", [events[2].pk])
    with pytest.raises(CommandError, match=rf"link 3 \(audit row {events[2].pk}\).*changed since it was"):
        call_command("audit_verify")


def test_a_back_dated_row_is_named():
    events = _rows(3)
    _as_owner_without_triggers(
        "UPDATE audit_auditevent SET at = at - interval '1 year' WHERE id = %s", [events[1].pk]
    )
    report = verify_chain()
    assert (report.broken_at_link, report.broken_event_id) == (2, events[1].pk)


def test_a_removed_row_is_named():
    events = _rows(5)
    _as_owner_without_triggers("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    with pytest.raises(CommandError, match=rf"link 4 \(audit row {events[3].pk}\).*removed"):
        call_command("audit_verify")


def test_a_removed_link_is_named():
    _rows(5)
    _as_owner_without_triggers("DELETE FROM audit_chainlink WHERE seq = 2")
    report = verify_chain()
    assert report.broken_at_link == 3 and "link 2 is missing" in report.problem


def test_a_row_written_with_the_chain_switched_off_is_named():
    _rows(2)
    _as_owner_without_triggers(
        "INSERT INTO audit_auditevent (at, username, role, api_client, action, object_type, object_id,"
        " channel, break_glass_reason, detail)"
        " VALUES (now(), 'mallory', '', '', 'view', '', '', 'page', '', '{}')"
    )
    forged = AuditEvent.objects.get(username="mallory")
    with pytest.raises(CommandError, match=rf"audit row {forged.pk}: this audit row is in no link"):
        call_command("audit_verify")


def test_rows_removed_from_the_end_are_caught_by_an_earlier_head(capsys):
    _rows(4)
    last = AuditChainLink.objects.order_by("-seq").first()
    head = last.row_hash
    call_command("audit_verify", "--head", head)
    assert "unbroken" in capsys.readouterr().out
    _as_owner_without_triggers("DELETE FROM audit_chainlink WHERE seq = 4")
    _as_owner_without_triggers("DELETE FROM audit_auditevent WHERE id = %s", [last.event_id])
    assert verify_chain().unbroken  # the chain alone cannot see a shortened end...
    with pytest.raises(CommandError, match="no longer in the chain"):
        call_command("audit_verify", "--head", head)  # ...the head kept elsewhere can


def test_concurrent_writers_make_one_unbroken_chain():
    """Ten connections each commit rows at once: the links follow commit order with no fork or gap."""
    barrier = threading.Barrier(10)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                for i in range(5):
                    AuditEvent.objects.create(action="view", channel="page", username=f"t{n}-{i}")
        except BaseException as error:  # reported below, on the test's thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    report = verify_chain()
    assert report.unbroken and report.rows == 50
