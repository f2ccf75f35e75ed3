"""manage.py load_medicines: load or refresh the curated medicines shipped with the app (formulary
status, maximum doses and order sentences included). Safe to run again; run it after import_dmd to
give the real release's products the formulary and order sentences."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prescribing.services.curated import MEDICINES, CuratedDataError, load_curated


class Command(BaseCommand):
    help = "Load or refresh the curated subset of common hospital medicines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=MEDICINES, help="the medicines file (TSV)")

    def handle(self, *args: object, file: Path, **options: object) -> None:
        try:
            counts = load_curated(file)
        except (CuratedDataError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{counts['medicines']} medicines ({counts['new']} new), "
                f"{counts['order sentences']} order sentences."
            )
        )
