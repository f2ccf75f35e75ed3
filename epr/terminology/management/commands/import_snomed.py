from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from epr.terminology.services import import_snomed_descriptions


class Command(BaseCommand):
    help = "Import SNOMED CT concepts from an RF2 description snapshot (e.g. the UK Clinical Edition)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("descriptions", type=Path, help="sct2_Description_Snapshot-en_*.txt")
        parser.add_argument("--language-refset", type=Path, help="der2_cRefset_LanguageSnapshot-en_*.txt")

    def handle(self, *args: Any, descriptions: Path, language_refset: Path | None, **options: Any) -> None:
        count = import_snomed_descriptions(descriptions, language_refset=language_refset)
        self.stdout.write(self.style.SUCCESS(f"Imported {count} SNOMED CT concepts."))
