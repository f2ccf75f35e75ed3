"""The database sets each audit row's time and chains every committed row to the one before by a hash.

The chain is written at commit by a deferred trigger that runs with the owner's rights (SECURITY
DEFINER), under one advisory lock, so links follow commit order and the lock is held only while a
transaction commits. epr/audit/chain.py recomputes the same content to verify it; change both together.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

SEAL = r"""
CREATE FUNCTION audit_event_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.at := statement_timestamp();
    RETURN NEW;
END $$;

CREATE TRIGGER audit_event_time BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_time();

-- Each field as "<length>:<text>;" so no two different rows can run together into one string.
CREATE FUNCTION audit_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT length(coalesce(value, ''))::text || ':' || coalesce(value, '') || ';'
$$;

CREATE FUNCTION audit_event_content(e audit_auditevent) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT audit_field(e.id::text)
        || audit_field(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
        || audit_field(e.user_id::text) || audit_field(e.username) || audit_field(e.role)
        || audit_field(e.api_client) || audit_field(e.patient_id::text) || audit_field(e.action)
        || audit_field(e.object_type) || audit_field(e.object_id) || audit_field(host(e.client_address))
        || audit_field(e.channel) || audit_field(e.break_glass_reason) || audit_field(e.detail::text)
$$;

CREATE FUNCTION audit_event_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(4215577001);
    SELECT seq, row_hash INTO head_seq, head_hash FROM audit_chainlink ORDER BY seq DESC LIMIT 1;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, repeat('0', 64));
    INSERT INTO audit_chainlink (seq, event_id, prev_hash, row_hash)
        VALUES (head_seq + 1, NEW.id, head_hash,
                encode(sha256(convert_to(head_hash || audit_event_content(NEW), 'UTF8')), 'hex'));
    RETURN NULL;
END $$;

-- Rows written before the chain existed are linked in the order they were written.
DO $$
DECLARE
    event audit_auditevent;
    previous text := repeat('0', 64);
    position bigint := 0;
    link text;
BEGIN
    FOR event IN SELECT * FROM audit_auditevent ORDER BY id LOOP
        position := position + 1;
        link := encode(sha256(convert_to(previous || audit_event_content(event), 'UTF8')), 'hex');
        INSERT INTO audit_chainlink (seq, event_id, prev_hash, row_hash) VALUES (position, event.id, previous, link);
        previous := link;
    END LOOP;
END $$;

CREATE CONSTRAINT TRIGGER audit_event_chain AFTER INSERT ON audit_auditevent
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_event_chain();

CREATE TRIGGER audit_chainlink_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_chainlink
    FOR EACH ROW EXECUTE FUNCTION audit_event_forbid_change();
"""

UNSEAL = """
DROP TRIGGER IF EXISTS audit_chainlink_no_update_or_delete ON audit_chainlink;
DROP TRIGGER IF EXISTS audit_event_chain ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_time ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_chain();
DROP FUNCTION IF EXISTS audit_event_content(audit_auditevent);
DROP FUNCTION IF EXISTS audit_field(text);
DROP FUNCTION IF EXISTS audit_event_time();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_list_action"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainLink",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("event_id", models.BigIntegerField(unique=True)),
                ("prev_hash", models.CharField(max_length=64)),
                ("row_hash", models.CharField(max_length=64)),
            ],
            options={
                "db_table": "audit_chainlink",
                "default_permissions": (),
            },
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), db_index=True),
        ),
        migrations.RunSQL(SEAL, reverse_sql=UNSEAL),
    ]
