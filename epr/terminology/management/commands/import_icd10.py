from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from epr.terminology.services import import_icd10


class Command(BaseCommand):
    help = "Import ICD-10 codes from a tab-separated file with CODE and DESCRIPTION columns."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        self.stdout.write(self.style.SUCCESS(f"Imported {import_icd10(path)} ICD-10 codes."))
