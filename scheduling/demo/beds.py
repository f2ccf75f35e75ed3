"""The bed board's part of the demo (manage.py seed_demo, through records.registries.demo): bed requests
waiting (an urgent one from the emergency department, one from theatres, one from another ward, an
elective admission), one bed awaiting cleaning and one blocked, all made through the same services
a bed manager uses. Idempotent: nothing is added once any bed request exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from epr.accounts.models import User
from records.models import Bed, Encounter, EncounterStatus, Patient, Specialty, Ward, WardStay
from scheduling.models import BedCondition, BedRequest, BedRequestSource
from scheduling.selectors.beds import free_beds
from scheduling.services.beds import bed_close, bed_left, bed_request_create


def _not_in_hospital(count: int) -> list[Patient]:
    inside = Encounter.objects.filter(status=EncounterStatus.ACTIVE).values("patient_id")
    return list(
        Patient.objects.filter(date_of_death__isnull=True).exclude(pk__in=inside).order_by("pk")[:count]
    )


def _free_bed_on(ward: Ward | None) -> Bed | None:
    return next((b for b in free_beds() if ward is not None and b.ward_id == ward.pk), None)


@transaction.atomic
def load_bed_board_demo(write: Callable[[str], Any]) -> str:
    if BedRequest.objects.exists():
        return "Bed board: already loaded."
    nurse = User.objects.filter(username="nurse").first()
    manager = User.objects.filter(username="manager").first() or nurse
    doctor = User.objects.filter(username="doctor").first()
    wards = {w.code: w for w in Ward.objects.all()}
    outside = _not_in_hospital(3)
    if nurse is None or doctor is None or len(outside) < 3 or not wards:
        return "Bed board: no demo staff or patients to use."
    acute, surgery = wards.get("SL-A1"), wards.get("SL-B2")
    made = [
        bed_request_create(
            requested_by=doctor,
            patient=outside[0],
            source=BedRequestSource.EMERGENCY,
            specialty=Specialty.GENERAL_MEDICINE,
            wanted_ward=acute,
            needs="Cardiac monitoring",
            urgent=True,
        ),
        bed_request_create(
            requested_by=doctor,
            patient=outside[1],
            source=BedRequestSource.THEATRES,
            specialty=Specialty.GENERAL_SURGERY,
            wanted_ward=surgery,
        ),
        bed_request_create(
            requested_by=manager,
            patient=outside[2],
            source=BedRequestSource.ELECTIVE,
            specialty=Specialty.GENERAL_SURGERY,
            wanted_ward=surgery,
            needs="Side room",
        ),
    ]
    elsewhere = (
        WardStay.objects.filter(ended_at__isnull=True, ward__code="RC-ASH")
        .select_related("encounter__patient")
        .first()
    )
    if elsewhere is not None:
        made.append(
            bed_request_create(
                requested_by=nurse,
                patient=elsewhere.encounter.patient,
                source=BedRequestSource.WARD,
                from_ward=elsewhere.ward,
                specialty=Specialty.ELDERLY,
                wanted_ward=wards.get("RC-OAK"),
            )
        )
    cleaning = _free_bed_on(acute)
    if cleaning is not None:
        bed_left(bed_id=cleaning.pk, by=nurse)
    blocked = _free_bed_on(surgery)
    if blocked is not None:
        bed_close(
            by=manager,
            bed=blocked,
            condition=BedCondition.BLOCKED,
            reason="Leaking ceiling tile: reported to estates",
            version=0,
        )
    return f"Bed board: {len(made)} bed requests waiting, one bed awaiting cleaning, one blocked."
