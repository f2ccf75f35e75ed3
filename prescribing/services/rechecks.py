"""Checking again what was already prescribed when the record changes: a new weight far from the one
a weight-based dose was calculated from raises an alert; an allergy recorded after a
prescription was written raises an urgent alert to the patient's ward and team naming each active
prescription it affects (records sends allergy_recorded after commit; wiring connects it here). The
bedside check (services/administration.py) also refuses such a dose until it is answered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch

from prescribing.models import Prescription, PrescriptionStatus, VMPIngredient
from prescribing.rules import checks
from prescribing.selectors.prescriptions import ingredient_names
from records.models import AlertSeverity, Encounter, EncounterStatus
from records.services.alerts import alert_raise

ALERT_KIND = "medicines_check"


def _active(patient_id: int) -> list[Prescription]:
    return list(
        Prescription.objects.filter(patient_id=patient_id, status=PrescriptionStatus.ACTIVE)
        .select_related("vmp__vtm")
        .prefetch_related(
            Prefetch("vmp__ingredients", queryset=VMPIngredient.objects.select_related("ingredient"))
        )
    )


def recheck_after_allergy(*, allergy: Any) -> int:
    """Raise the alert if the new allergy affects an active prescription; returns how many it does."""
    if not allergy.substance or allergy.kind == "no-known-allergy":
        return 0
    affected = [
        (p, finding)
        for p in _active(allergy.patient_id)
        for finding in checks.allergy_findings(p.vmp.name, ingredient_names(p.vmp), [allergy.substance])
    ]
    if not affected:
        return 0
    encounter = Encounter.objects.filter(patient_id=allergy.patient_id, status=EncounterStatus.ACTIVE).first()
    serious = any(f.severity == checks.Severity.HIGH for _, f in affected)
    names = "; ".join(f.message for _, f in affected)
    with transaction.atomic():
        alert_raise(
            key=f"allergy-recheck:{allergy.pk}",
            patient_id=allergy.patient_id,
            kind=ALERT_KIND,
            severity=AlertSeverity.URGENT if serious else AlertSeverity.ALERT,
            message=f"Allergy recorded after prescribing. {names} Review these prescriptions now.",
            encounter=encounter,
        )
    return len(affected)


WEIGHT_CHANGE = Decimal("0.1")  # a tenth: the rounding a weight-based dose already allows


def recheck_after_weight(*, observation_set: Any) -> int:
    """A new weight more than a tenth from the one an active weight-based dose was calculated from
    raises an alert naming those prescriptions, to be written again from the new weight."""
    weight = observation_set.weight
    changed = [
        p
        for p in Prescription.objects.filter(
            patient_id=observation_set.patient_id, status=PrescriptionStatus.ACTIVE, dose_per_kg__isnull=False
        ).select_related("vmp")
        if p.dosing_weight_kg and abs(weight - p.dosing_weight_kg) > p.dosing_weight_kg * WEIGHT_CHANGE
    ]
    if not changed:
        return 0
    names = "; ".join(f"{p.vmp.name} ({p.dose_text} for {p.dosing_weight_kg} kg)" for p in changed)
    encounter = Encounter.objects.filter(
        patient_id=observation_set.patient_id, status=EncounterStatus.ACTIVE
    ).first()
    with transaction.atomic():
        alert_raise(
            key=f"weight-recheck:{observation_set.pk}",
            patient_id=observation_set.patient_id,
            kind=ALERT_KIND,
            severity=AlertSeverity.ALERT,
            message=f"Weight now {weight} kg. Doses calculated from an earlier weight: {names}. Review them.",
            encounter=encounter,
        )
    return len(changed)
