from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from epr.terminology.services import import_snomed_icd10_map


class Command(BaseCommand):
    help = "Import the SNOMED CT to ICD-10 map from an RF2 extended map refset snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="der2_iisssciRefset_ExtendedMapSnapshot_*.txt")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        self.stdout.write(self.style.SUCCESS(f"Imported {import_snomed_icd10_map(path)} map rows."))
