"""`migrate` as the owner role, then the runtime role's privileges (epr/database.py).

The app's own role (DATABASE_URL) cannot alter tables, so migrating needs the owner (DATABASE_MIGRATE_URL,
or the embedded server's epr_owner). Every run re-grants, so a table a migration adds is usable at once
and the audit tables stay append-only for the app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import migrate
from django.db import connections

from epr.audit.models import AuditChainLink, AuditEvent
from epr.database import ROLE_KEYS, grant_runtime_privileges

# The app may add audit rows and read them; the chain is the database's to write.
AUDIT_PRIVILEGES = {
    AuditEvent._meta.db_table: ("SELECT", "INSERT"),
    AuditChainLink._meta.db_table: ("SELECT",),
}


class Command(migrate.Command):
    help = migrate.Command.help + " Connects as the owner role and grants the app's runtime role afterwards."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        owner = settings.EPR_DATABASE_OWNER if options["database"] == "default" else None
        if owner is None:
            if options["verbosity"] >= 1:
                self.stdout.write(
                    self.style.WARNING(
                        "DATABASE_MIGRATE_URL is not set: the app and its migrations share one database "
                        "role, which could erase the audit trail (docs/security.md)."
                    )
                )
            super().handle(*args, **options)
            return
        saved = {key: connection.settings_dict.get(key) for key in ROLE_KEYS}
        connection.close()
        connection.settings_dict.update({key: owner[key] for key in ROLE_KEYS if key in owner})
        try:
            super().handle(*args, **options)
            self._grant(connection)
        finally:
            connection.close()
            connection.settings_dict.update(saved)

    def _grant(self, connection: Any) -> None:
        runtime_role = settings.EPR_DATABASE_RUNTIME["USER"]
        if runtime_role == connection.settings_dict["USER"]:
            return
        with connection.cursor() as cursor:
            grant_runtime_privileges(cursor.cursor, runtime_role, AUDIT_PRIVILEGES)
