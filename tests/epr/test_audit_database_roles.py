"""The audit trail cannot be wiped or forged through the app's own database login (issue 7, item 2).

Each attack from the penetration test runs here as the runtime role (DATABASE_URL) on its own real
connection to the test database, and is refused; the owner role (DATABASE_MIGRATE_URL) made the tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from psycopg import errors

from epr.audit.chain import verify_chain
from epr.audit.models import AuditChainLink, AuditEvent
from epr.database import as_role
from records.models import ObservationSet
from tests.records.support import OBSERVATION_FORM
from tests.support import login

pytestmark = pytest.mark.django_db(transaction=True)

AUDIT_TABLES = {"audit_auditevent", "audit_chainlink"}


def _roles_configured() -> bool:
    return settings.EPR_DATABASE_OWNER is not None and (
        settings.EPR_DATABASE_OWNER["USER"] != settings.EPR_DATABASE_RUNTIME["USER"]
    )


@pytest.fixture
def runtime() -> Iterator[psycopg.Connection]:
    """A connection to the test database as the app's runtime role."""
    if not _roles_configured():
        # Nothing to attack with: the only role there is owns the tables. This happens only when a developer
        # points DATABASE_URL at a superuser and sets no DATABASE_MIGRATE_URL; `make test` on the embedded
        # server and CI (EPR_REQUIRE_DB_ROLES=1, which turns this into a failure) always have both roles.
        message = (
            "DATABASE_MIGRATE_URL is not set, so the app and its migrations share one role and there is no "
            "runtime role to attack as: set DATABASE_URL to a runtime role and DATABASE_MIGRATE_URL to the "
            "owner (docs/security.md), or run `make test` on the embedded PostgreSQL"
        )
        if os.environ.get("EPR_REQUIRE_DB_ROLES"):
            pytest.fail(message)
        pytest.skip(message)
    role = settings.EPR_DATABASE_RUNTIME
    with psycopg.connect(
        dbname=connection.settings_dict["NAME"],
        user=role["USER"],
        password=role.get("PASSWORD") or None,
        host=role.get("HOST") or None,
        port=role.get("PORT") or None,
        autocommit=True,
    ) as conn:
        yield conn


def _refused(conn: psycopg.Connection, statement: str, params: tuple = ()) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement, params or None)


def _audit_row(**fields) -> AuditEvent:
    return AuditEvent.objects.create(action="view", channel="page", username="alice", **fields)


def test_truncate_is_refused(runtime):
    _audit_row()
    _refused(runtime, "TRUNCATE audit_auditevent")
    _refused(runtime, "TRUNCATE audit_chainlink")
    assert AuditEvent.objects.count() == 1


def test_disabling_the_triggers_is_refused(runtime):
    _refused(runtime, "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_or_delete")
    _refused(runtime, "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
    _refused(runtime, "ALTER TABLE audit_chainlink DISABLE TRIGGER ALL")


def test_replica_mode_is_refused_and_delete_still_is(runtime):
    event = _audit_row()
    _refused(runtime, "SET session_replication_role = replica")
    _refused(runtime, "DELETE FROM audit_auditevent WHERE id = %s", (event.pk,))
    _refused(runtime, "UPDATE audit_auditevent SET username = 'mallory' WHERE id = %s", (event.pk,))
    assert AuditEvent.objects.get().username == "alice"


def test_dropping_the_triggers_is_refused(runtime):
    _refused(runtime, "DROP TRIGGER audit_event_no_update_or_delete ON audit_auditevent")
    _refused(runtime, "DROP TRIGGER audit_event_chain ON audit_auditevent")
    _refused(runtime, "DROP TRIGGER audit_event_time ON audit_auditevent")
    _refused(runtime, "DROP FUNCTION audit_event_chain()")
    _refused(runtime, "CREATE OR REPLACE FUNCTION audit_event_time() RETURNS int LANGUAGE sql AS 'SELECT 1'")


def test_a_back_dated_insert_gets_the_database_time_and_joins_the_chain(runtime):
    year_ago = timezone.now() - timedelta(days=365)
    runtime.execute(
        "INSERT INTO audit_auditevent (at, username, role, api_client, action, object_type, object_id,"
        " channel, break_glass_reason, detail)"
        " VALUES (%s, 'mallory', '', '', 'view', '', '', 'page', '', '{}')",
        [year_ago],
    )
    forged = AuditEvent.objects.get(username="mallory")
    assert abs(forged.at - timezone.now()) < timedelta(minutes=1)
    assert AuditChainLink.objects.filter(event_id=forged.pk).exists()
    assert verify_chain().unbroken


def test_the_chain_cannot_be_written_or_rewritten_by_the_app(runtime):
    _audit_row()
    link = AuditChainLink.objects.get()
    _refused(runtime, "INSERT INTO audit_chainlink VALUES (%s, 999, %s, 'x')", (link.seq + 1, link.row_hash))
    _refused(runtime, "UPDATE audit_chainlink SET row_hash = 'x' WHERE seq = %s", (link.seq,))
    _refused(runtime, "DELETE FROM audit_chainlink WHERE seq = %s", (link.seq,))


def test_the_app_cannot_add_its_own_objects(runtime):
    _refused(runtime, "CREATE TABLE public.shadow (id int)")
    _refused(runtime, "CREATE FUNCTION public.audit_field(v text) RETURNS text LANGUAGE sql AS 'SELECT v'")
    _refused(
        runtime,
        "CREATE TRIGGER shadow BEFORE INSERT ON audit_auditevent"
        " FOR EACH ROW EXECUTE FUNCTION audit_event_time()",
    )


def test_the_runtime_role_owns_nothing_and_may_use_every_other_table(runtime):
    role = settings.EPR_DATABASE_RUNTIME["USER"]
    powers = "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s"
    assert runtime.execute(powers, [role]).fetchone() == (False, False, False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = %s",
            [role],
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cursor.fetchall()]

    def privileges(table: str) -> set[str]:
        return {
            privilege
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
            if runtime.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege]).fetchone()[
                0
            ]
        }

    for table in tables:
        expected = {
            "audit_auditevent": {"SELECT", "INSERT"},
            "audit_chainlink": {"SELECT"},
        }.get(table, {"SELECT", "INSERT", "UPDATE", "DELETE"})
        assert privileges(table) == expected, table


@pytest.fixture
def app_as_runtime_role(runtime):
    """Django's own connection reconnected as the runtime role, as under `make run`."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(as_role(connection.settings_dict, settings.EPR_DATABASE_RUNTIME))
    yield
    connection.close()
    connection.settings_dict.update(saved)


def test_the_app_works_as_the_runtime_role(client, admitted, nurse, clerk, app_as_runtime_role):
    """A ward round's reads and writes, every one audited, with only the runtime role's rights."""

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.EPR_DATABASE_RUNTIME["USER"]
    login(client, nurse)
    assert client.get(reverse("records:ward_list")).status_code == 200
    assert client.get(reverse("records:patient_detail", args=[admitted.patient_id])).status_code == 200
    record = client.post(
        reverse("records:observations_record", args=[admitted.patient_id]),
        {**OBSERVATION_FORM, "respiration_rate": "25", "submission": "c" * 32},
    )
    assert record.status_code == 302
    assert ObservationSet.objects.filter(encounter__patient=admitted.patient).count() == 1
    assert client.get(reverse("records:alert_list")).status_code == 200
    login(client, clerk)
    assert (
        client.get(reverse("records:patient_search"), {"q": admitted.patient.family_name}).status_code == 200
    )
    assert AuditEvent.objects.filter(patient_id=admitted.patient_id).count() >= 4
    assert verify_chain().unbroken
