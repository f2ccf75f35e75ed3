from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from epr.accounts.services import api_client_create
from epr.fhir.registry import fhir_scopes


class Command(BaseCommand):
    help = "Register a system API client for the OAuth2 client-credentials grant and print its secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", default="system/*.read", help='e.g. "system/*.read system/*.write"')

    def handle(self, *args: Any, name: str, scope: str, **options: Any) -> None:
        scopes = scope.split()
        known = fhir_scopes()
        unknown = [s for s in scopes if s not in known]
        if not scopes or unknown:
            raise CommandError(f"Unknown scope(s) {unknown or scopes}. Known: {', '.join(known)}")
        client, secret = api_client_create(name=name, scopes=scopes)
        self.stdout.write(f"client_id={client.application.client_id}")
        self.stdout.write(f"client_secret={secret}")
        self.stdout.write(f"scope={' '.join(scopes)}")
        self.stdout.write("The secret is shown only now; it is stored hashed.")
