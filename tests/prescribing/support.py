"""Helpers the prescribing tests share: a prescription written through the service, and a pack of a
product with its barcode number in the catalogue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from prescribing.models import AMP, AMPP, VMP, VMPP, PackGTIN, Prescription, PrescriptionKind
from prescribing.rules.gs1 import check_digit
from prescribing.services.prescriptions import prescription_create


def prescribe(doctor: Any, patient: Any, vmp: VMP, **kwargs: Any) -> Prescription:
    values: dict[str, Any] = {
        "prescribed_by": doctor,
        "patient": patient,
        "vmp": vmp,
        "kind": PrescriptionKind.REGULAR,
        "dose_value": Decimal("1000"),
        "dose_unit": "mg",
        "route": "Oral",
        "times_of_day": ["08:00", "12:00", "18:00", "22:00"],
        "indication": "Pain",
        "review_on": timezone.localdate() + timedelta(days=2),
        "starts_at": timezone.now() - timedelta(days=1),
    }
    return prescription_create(**{**values, **kwargs})


def gtin_for(number: int) -> str:
    body = f"0029{number:09d}"
    return body + str(check_digit(body))


def pack(vmp: VMP, number: int) -> str:
    """A pack of `vmp` with a barcode; returns its GTIN (14 digits)."""
    amp = AMP.objects.create(
        dmd_id=f"5{number:08d}", vmp=vmp, name=vmp.name, description=f"{vmp.name} (Test)"
    )
    vmpp = VMPP.objects.create(dmd_id=f"4{number:08d}", vmp=vmp, name=f"{vmp.name} 28")
    ampp = AMPP.objects.create(dmd_id=f"3{number:08d}", amp=amp, vmpp=vmpp, name=f"{vmp.name} (Test) 28")
    gtin = gtin_for(number)
    PackGTIN.objects.create(ampp=ampp, gtin=gtin)
    return gtin


def scan_of(gtin: str, *, expiry: str = "301231", batch: str = "AB12") -> str:
    """What a keyboard-wedge scanner types for a GS1 DataMatrix: ]d2, FNC1 as ASCII 29, Enter."""
    return f"]d201{gtin}17{expiry}10{batch}\x1d21SER1\n"
