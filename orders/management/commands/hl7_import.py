"""manage.py hl7_import PATH: file the HL7 v2 results messages in a file or a folder of files (one
message a file, or several in one file each starting MSH), printing each ACK code."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.services.results import results_receive


class Command(BaseCommand):
    help = "File HL7 v2 ORU^R01 results messages from a file or a folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: object, path: Path, **options: object) -> None:
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        counts: dict[str, int] = {}
        for file in files:
            text = file.read_bytes().decode("utf-8", errors="replace")
            for message in re.split(r"(?=^MSH\|)", text, flags=re.M):
                if not message.strip():
                    continue
                answer = results_receive(message, channel="file", client=str(file.name))
                counts[answer.code] = counts.get(answer.code, 0) + 1
                self.stdout.write(
                    f"{file.name}: {answer.code}{' (already filed)' if answer.repeated else ''}"
                )
        self.stdout.write(
            ", ".join(f"{code} {n}" for code, n in sorted(counts.items())) or "No messages found."
        )
