"""manage.py import_dmd FOLDER: load or update the dm+d catalogue from NHSBSA's XML release."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prescribing.services.catalogue import DmdImportError, dmd_import


class Command(BaseCommand):
    help = (
        "Load the dm+d release in FOLDER (the unzipped f_vtm, f_vmp, f_vmpp, f_amp, f_ampp, f_lookup, "
        "f_ingredient XML files, and f_gtin from its own zip). Run it again with a newer release to "
        "update the catalogue in place."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, folder: Path, **options: Any) -> None:
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        try:
            report = dmd_import(folder)
        except DmdImportError as exc:
            raise CommandError(str(exc)) from exc
        for kind, count in report.rows.items():
            self.stdout.write(f"{kind}: {count:,} rows")
        for reason, count in report.skipped.items():
            self.stdout.write(f"left out, {reason}: {count:,}")
