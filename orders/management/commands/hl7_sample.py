"""manage.py hl7_sample HOSPITAL_NUMBER [--panel U&E] [--set 2823-3=6.9] [--order EPR00100001]: print
an ORU^R01 for the patient as a laboratory would send it (answering the order given), to post to
/hl7/v2 (see the README) or file with hl7_import."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.samples import PANELS, oru_for
from records.models import Patient


class Command(BaseCommand):
    help = "Print an HL7 v2 results message for a patient."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("hospital_number")
        parser.add_argument("--panel", choices=sorted(PANELS), default="U&E")
        parser.add_argument("--set", action="append", default=[], help="LOINC=value, e.g. 2823-3=6.9")
        parser.add_argument("--order", default="", help="the order number it answers (placer number, OBR-2)")

    def handle(
        self, *args: object, hospital_number: str, panel: str, set: list[str], order: str, **options: object
    ) -> None:
        patient = Patient.objects.filter(hospital_number=hospital_number.upper()).first()
        if patient is None:
            raise CommandError(f"No patient has hospital number {hospital_number}.")
        values = {}
        for item in set:
            code, _, value = item.partition("=")
            try:
                values[code.strip()] = Decimal(value)
            except InvalidOperation as exc:
                raise CommandError(f"--set {item}: give LOINC=number") from exc
        self.stdout.write(
            oru_for(patient, panel, values=values, placer=order.strip().upper()).replace("\r", "\n"),
            ending="",
        )
