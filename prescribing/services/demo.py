"""The medicines part of the demo (manage.py seed_demo, through records.registries.demo): the curated
catalogue, demonstration packs with GS1 restricted-circulation barcodes, and Ward A1's prescriptions
(regular, as-required, a controlled drug, an antimicrobial near its 48-hour review, an insulin), some
verified, some awaiting verification, with doses given and not given. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.accounts.models import User
from prescribing.models import AMP, AMPP, VMP, VMPP, PackGTIN, Prescription, PrescriptionKind, WardStock
from prescribing.rules.gs1 import check_digit
from prescribing.services import administration, curated, prescriptions, stock, verification
from records.models import Ward, WardStay

DEMO_WARD = "SL-A1"
DEMO_PACKS = (
    "Paracetamol 500mg tablets",
    "Amoxicillin 500mg capsules",
    "Clarithromycin 500mg tablets",
    "Doxycycline 100mg capsules",
    "Oxycodone 5mg capsules",
    "Morphine sulfate 10mg/5ml oral solution",
    "Insulin aspart 100units/ml solution for injection 3ml pre-filled pens",
    "Enoxaparin sodium 40mg/0.4ml solution for injection pre-filled syringes",
    "Ramipril 2.5mg capsules",
    "Atorvastatin 20mg tablets",
    "Omeprazole 20mg gastro-resistant capsules",
    "Bisoprolol 2.5mg tablets",
    "Furosemide 40mg tablets",
)


def demo_gtin(index: int) -> str:
    """A 14-digit GTIN in GS1's restricted-circulation range (prefix 02): never a real product's."""
    body = f"00290000{index:05d}"
    return body + str(check_digit(body))


def _packs() -> dict[str, VMP]:
    found: dict[str, VMP] = {}
    for index, name in enumerate(DEMO_PACKS, start=1):
        vmp = VMP.objects.filter(name__iexact=name).first()
        if vmp is None:
            continue
        found[name] = vmp
        amp, _ = AMP.objects.get_or_create(
            dmd_id=curated.local_id("amp", name),
            defaults={"vmp": vmp, "name": name, "description": f"{name} (Demo Pharma)"},
        )
        vmpp, _ = VMPP.objects.get_or_create(
            dmd_id=curated.local_id("vmpp", name), defaults={"vmp": vmp, "name": f"{name} pack"}
        )
        ampp, _ = AMPP.objects.get_or_create(
            dmd_id=curated.local_id("ampp", name),
            defaults={"amp": amp, "vmpp": vmpp, "name": f"{name} (Demo Pharma) pack"},
        )
        PackGTIN.objects.get_or_create(ampp=ampp, gtin=demo_gtin(index))
    return found


DEMO_STOCK = {  # product: (unit, opening balance, reorder level, reorder quantity)
    "Paracetamol 500mg tablets": ("tablet", "300", "100", "500"),
    "Atorvastatin 20mg tablets": ("tablet", "40", "28", "56"),
    "Oxycodone 5mg capsules": ("capsule", "28", "10", "28"),
    "Omeprazole 20mg gastro-resistant capsules": ("capsule", "20", "28", "56"),  # low: pharmacy asked
}


def _stock(ward: Ward, packs: dict[str, VMP]) -> None:
    """The demo ward's stock, once: an opening receipt of each (the controlled drug witnessed)."""
    if WardStock.objects.filter(ward=ward).exists():
        return
    nurse, witness = User.objects.get(username="nurse"), User.objects.get(username="pharmacist")
    for name, (unit, balance, level, quantity) in DEMO_STOCK.items():
        vmp = packs.get(name) or VMP.objects.filter(name__iexact=name).first()
        if vmp is None:
            continue
        shelf = WardStock.objects.create(
            ward=ward, vmp=vmp, unit=unit, reorder_level=Decimal(level), reorder_quantity=Decimal(quantity)
        )
        stock.stock_receive(by=nurse, stock=shelf, quantity=Decimal(balance), batch="DEMO", witness=witness)


def _scan(vmp: VMP, when: Any) -> str:
    gtin = PackGTIN.objects.filter(ampp__amp__vmp=vmp).values_list("gtin", flat=True).first()
    expiry = (when + timedelta(days=300)).strftime("%y%m%d")
    return f"(01){gtin}(17){expiry}(10)DEMO{when:%m%d}" if gtin else ""


def _prescribe(doctor: User, patient: Any, vmp: VMP | None, **values: Any) -> Prescription | None:
    if vmp is None:
        return None
    pending = prescriptions.findings_for(patient, vmp)
    answers = {p.key: "Demo: discussed with the consultant; benefit outweighs the risk." for p in pending}
    try:
        return prescriptions.prescription_create(
            prescribed_by=doctor, patient=patient, vmp=vmp, answers=answers, **values
        )
    except prescriptions.ChecksNeedAnswers as more:
        answers |= {p.key: "Demo: dose checked with the consultant." for p in more.pending}
        return prescriptions.prescription_create(
            prescribed_by=doctor, patient=patient, vmp=vmp, answers=answers, **values
        )


def _give_past_doses(nurse: User, prescription: Prescription, now: Any, skip_one: bool) -> None:
    due = administration.due_times_of(
        prescription, since=now - timedelta(hours=20), until=now - timedelta(minutes=70)
    )
    for i, when in enumerate(due):
        if skip_one and i == len(due) - 1:
            administration.administration_not_given(
                recorded_by=nurse,
                prescription=prescription,
                due_at=when,
                reason="refused",
                now=when + timedelta(minutes=5),
            )
            continue
        administration.administration_give(
            given_by=nurse,
            prescription=prescription,
            due_at=when,
            wristband=prescription.patient.nhs_number or prescription.patient.hospital_number,
            pack=_scan(prescription.vmp, when),
            now=when + timedelta(minutes=10),
            overrides={"no-pack-scan": "Demo: dose from ward stock", "unknown-pack": "Demo"},
        )


@transaction.atomic
def load_demo(write: Callable[[str], Any]) -> str:
    counts = curated.load_curated()
    packs = _packs()
    ward = Ward.objects.filter(code=DEMO_WARD).first()
    if ward is not None:
        _stock(ward, packs)
    if ward is None or Prescription.objects.exists():
        return f"Medicines: {counts['medicines']} curated medicines, {len(packs)} demo packs."
    doctor, nurse = User.objects.get(username="doctor"), User.objects.get(username="nurse")
    pharmacist = User.objects.get(username="pharmacist")
    now = timezone.now()
    start = now - timedelta(days=2)
    stays = list(
        WardStay.objects.filter(ward=ward, ended_at__isnull=True)
        .select_related("encounter__patient")
        .order_by("pk")[:8]
    )
    written = 0
    for index, stay in enumerate(stays):
        patient = stay.encounter.patient
        common = {"encounter": stay.encounter, "starts_at": start}
        regular = _prescribe(
            doctor,
            patient,
            packs.get("Paracetamol 500mg tablets"),
            kind=PrescriptionKind.REGULAR,
            dose_value=Decimal("1000"),
            dose_unit="mg",
            route="Oral",
            times_of_day=["06:00", "12:00", "18:00", "22:00"],
            **common,
        )
        extra = [
            _prescribe(
                doctor,
                patient,
                packs.get("Atorvastatin 20mg tablets"),
                kind=PrescriptionKind.REGULAR,
                dose_value=Decimal("20"),
                dose_unit="mg",
                route="Oral",
                times_of_day=["22:00"],
                **common,
            ),
        ]
        if index % 4 == 0:
            extra.append(
                _prescribe(
                    doctor,
                    patient,
                    packs.get("Oxycodone 5mg capsules"),
                    kind=PrescriptionKind.AS_REQUIRED,
                    dose_value=Decimal("5"),
                    dose_unit="mg",
                    route="Oral",
                    min_interval_minutes=240,
                    max_doses_in_24_hours=4,
                    indication="Severe pain",
                    **common,
                )
            )
        if index % 4 == 1:
            extra.append(
                _prescribe(
                    doctor,
                    patient,
                    packs.get("Doxycycline 100mg capsules"),
                    kind=PrescriptionKind.REGULAR,
                    dose_value=Decimal("100"),
                    dose_unit="mg",
                    route="Oral",
                    times_of_day=["08:00"],
                    indication="Community-acquired pneumonia (CURB-65 score 1)",
                    review_on=timezone.localdate() + timedelta(days=1),
                    encounter=stay.encounter,
                    starts_at=now - timedelta(hours=46),
                )
            )
        if index % 4 == 2:
            extra.append(
                _prescribe(
                    doctor,
                    patient,
                    packs.get("Insulin aspart 100units/ml solution for injection 3ml pre-filled pens"),
                    kind=PrescriptionKind.REGULAR,
                    dose_value=Decimal("6"),
                    dose_unit="unit",
                    route="Subcutaneous",
                    times_of_day=["08:00", "12:00", "18:00"],
                    notes_for_administration="Check capillary glucose first; give with meals.",
                    **common,
                )
            )
        if index % 4 == 3:
            extra.append(
                _prescribe(
                    doctor,
                    patient,
                    packs.get("Enoxaparin sodium 40mg/0.4ml solution for injection pre-filled syringes"),
                    kind=PrescriptionKind.REGULAR,
                    dose_value=Decimal("40"),
                    dose_unit="mg",
                    route="Subcutaneous",
                    times_of_day=["18:00"],
                    indication="VTE prophylaxis",
                    **common,
                )
            )
        for prescription in [regular, *extra]:
            if prescription is None:
                continue
            written += 1
            if index % 3 != 2:  # the rest wait in the pharmacist's queue
                verification.prescription_review(by=pharmacist, prescription=prescription, action="verified")
                prescription.refresh_from_db()
        if regular is not None and index % 3 != 2:
            _give_past_doses(nurse, regular, now, skip_one=index % 2 == 1)
    return (
        f"Medicines: {counts['medicines']} curated medicines, {len(packs)} demo packs, "
        f"{written} prescriptions on {ward.name}."
    )
