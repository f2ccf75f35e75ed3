"""Deployment check: the app must not run as the role that owns the audit trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def separate_database_roles(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    owner = settings.EPR_DATABASE_OWNER
    runtime = settings.EPR_DATABASE_RUNTIME
    if owner is None or owner.get("USER") == runtime.get("USER"):
        return [
            checks.Warning(
                "The app connects to the database as the role that runs its migrations, which can "
                "truncate the audit trail or disable its triggers.",
                hint="Set DATABASE_URL to a runtime role and DATABASE_MIGRATE_URL to the owner role "
                "(docs/security.md, 'Database roles').",
                id="epr.W001",
            )
        ]
    return []
