"""manage.py load_order_catalogue: load or refresh the order catalogue shipped with the app (tests,
their questions and the order sets). Safe to run again; what an administrator added stays."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.services.catalogue import DATA, CatalogueError, catalogue_load


class Command(BaseCommand):
    help = "Load or refresh the order catalogue (tests, questions, order sets)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data", type=Path, default=DATA, help="folder with tests.tsv, questions.tsv, order_sets.tsv"
        )

    def handle(self, *args: object, data: Path, **options: object) -> None:
        try:
            loaded = catalogue_load(data)
        except (CatalogueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{loaded.tests} tests, {loaded.questions} questions, {loaded.order_sets} order sets."
            )
        )
