"""`manage.py audit_verify`: prove the audit trail's hash chain unbroken, or name the first broken row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from epr.audit.chain import verify_chain


class Command(BaseCommand):
    help = (
        "Check that every audit row is chained to the one before it and unchanged since it was written. "
        "Exits 1 and names the first broken row if not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head",
            default="",
            help="A head hash printed by an earlier run: also prove that no rows after it were removed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain(expected_head=options["head"])
        if report.broken_at_link is not None:
            raise CommandError(
                f"Audit chain broken at link {report.broken_at_link} (audit row {report.broken_event_id}): "
                f"{report.problem}. The {report.rows:,} links before it are intact."
            )
        if report.problem:
            raise CommandError(f"Audit chain broken: audit row {report.broken_event_id}: {report.problem}.")
        if report.head_seen is False:
            raise CommandError(
                f"Audit chain broken: the head {options['head']} recorded earlier is no longer in the chain, "
                "so rows have been removed from its end."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain unbroken: {report.rows:,} rows.")
            + f"\nHead hash: {report.head_hash}\n"
            "Keep the head hash somewhere the database cannot reach; `audit_verify --head <hash>` later "
            "proves that nothing after it was removed."
        )
