"""Writing and stopping prescriptions. A new prescription is checked against the patient's recorded
allergies and active prescriptions (prescribing/rules/checks.py) under a lock on the patient, so two
prescribers at once cannot both miss each other's duplicate. A finding must be answered with a
reason to prescribe despite it; the findings and the answers are kept on the prescription."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from prescribing.models import (
    AMP,
    VMP,
    CheckOutcome,
    Prescription,
    PrescriptionCheck,
    PrescriptionKind,
    PrescriptionStatus,
    Setting,
)
from prescribing.rules import checks, doses
from prescribing.selectors import interactions
from prescribing.selectors import prescriptions as selectors
from records.errors import RecordError
from records.models import (
    Encounter,
    Patient,
)
from records.models.entries import history_note
from records.registries.results import CREATININE_CLEARANCE, EGFR, latest_result
from records.selectors.patients import latest_weight
from records.services.entries import lock_for_edit
from records.services.patients import patient_require_writable

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class PendingCheck:
    """A finding as the prescriber is shown it, with the key their answer is given under."""

    key: str
    finding: checks.Finding


class ChecksNeedAnswers(RecordError):
    """The prescription raised findings not yet answered: each needs a reason to prescribe despite
    it, or the prescription changed. Nothing was saved."""

    def __init__(self, pending: list[PendingCheck]) -> None:
        super().__init__(
            "Check the warnings below. Change the prescription, or give a reason to prescribe despite each."
        )
        self.pending = pending


def check_key(finding: checks.Finding) -> str:
    """A finding's stable key, so the answer the form posts back is matched to what was shown."""
    return hashlib.sha256(f"{finding.kind}:{finding.message}".encode()).hexdigest()[:16]


def findings_for(patient: Patient, vmp: VMP, *, replacing: Prescription | None = None) -> list[PendingCheck]:
    """What prescribing this product for this patient would raise, now (leaving out the
    prescription this one is to replace, which is stopped first)."""
    ingredients = selectors.ingredient_names(vmp)
    found = checks.allergy_findings(vmp.name, ingredients, selectors.recorded_allergy_names(patient))
    active = selectors.active_for_checks(patient, excluding=replacing)
    found += checks.duplicate_findings(vmp.name, ingredients, active, interactions.therapeutic_classes())
    found += checks.interaction_findings(
        vmp.name, ingredients, active, interactions.interaction_table(), interactions.drug_classes()
    )
    found += _renal(patient, vmp.name, ingredients)
    return [PendingCheck(check_key(f), f) for f in found]


def _renal(patient: Patient, medicine: str, ingredients: list[str]) -> list[checks.Finding]:
    """Renal warnings from the latest eGFR or creatinine clearance a results provider knows (the
    orders app registers one); with neither known there is nothing to check against."""
    for kind, measure in ((CREATININE_CLEARANCE, "creatinine clearance"), (EGFR, "eGFR")):
        result = latest_result(patient, kind)
        if result is not None:
            return checks.renal_findings(
                medicine,
                ingredients,
                kidney_function=result.value,
                measure=f"{measure} on {timezone.localtime(result.at):%d-%b-%Y}",
                table=interactions.renal_table(),
                classes=interactions.drug_classes(),
            )
    return []


@dataclass(frozen=True)
class WeightUsed:
    kg: Decimal
    taken_at: datetime
    dose: Decimal
    stale_days: int  # more than EPR_WEIGHT_MAX_AGE_DAYS old: the prescriber confirms it still holds


def _weight_based(patient: Patient, vmp: VMP, per_kg: Decimal, unit: str, now: datetime) -> WeightUsed:
    if per_kg <= 0:
        raise RecordError("Give a dose per kg greater than zero.", field="dose_per_kg")
    latest = latest_weight(patient)
    if latest is None or latest.weight is None:
        raise RecordError(
            "No weight is recorded: record the patient's weight (Observations) before a weight-based dose.",
            field="dose_per_kg",
        )
    step = selectors.measurable_step(vmp, unit)
    exact = per_kg * latest.weight
    dose = doses.weight_based_dose(per_kg, latest.weight, step)
    if doses.too_far_from(exact, dose):
        raise RecordError(
            f"{_amount(exact)} {unit} cannot be measured closely enough with {vmp.name} (the nearest is "
            f"{_amount(dose)} {unit}): choose a lower strength or a liquid.",
            field="dose_per_kg",
        )
    age = (now - latest.taken_at).days
    limit = getattr(settings, "EPR_WEIGHT_MAX_AGE_DAYS", 7)
    return WeightUsed(latest.weight, latest.taken_at, dose, age if age > limit else 0)


def _stale_weight(weight: WeightUsed) -> PendingCheck:
    finding = checks.Finding(
        checks.Kind.MAXIMUM_DOSE,
        checks.Severity.MODERATE,
        f"The dose is calculated from a weight of {weight.kg} kg recorded {weight.stale_days} days ago "
        f"({timezone.localtime(weight.taken_at):%d-%b-%Y}). Weigh the patient if it may have changed.",
    )
    return PendingCheck(check_key(finding), finding)


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _infusion(
    diluent: str, volume: Decimal | None, rate: Decimal | None, minutes: int | None
) -> dict[str, Any]:
    """An infusion's volume with its rate or its duration; the one not given is worked out."""
    diluent = " ".join(diluent.split())
    if volume is None:
        if rate is not None or minutes or diluent:
            raise RecordError("An infusion needs its volume (ml).", field="infusion_volume_ml")
        return {}
    if volume <= 0:
        raise RecordError("Give the infusion's volume in ml, greater than zero.", field="infusion_volume_ml")
    if rate is None and not minutes:
        raise RecordError(
            "Give the infusion's rate (ml/hour) or how long it runs.", field="infusion_rate_ml_per_hour"
        )
    if rate is not None and rate <= 0:
        raise RecordError("Give a rate greater than zero.", field="infusion_rate_ml_per_hour")
    if rate is not None and minutes and abs(doses.infusion_minutes(volume, rate) - minutes) > 1:
        raise RecordError(
            f"{volume.normalize():f} ml at {rate.normalize():f} ml/hour takes "
            f"{doses.infusion_minutes(volume, rate)} minutes, not {minutes}: give one or the other.",
            field="infusion_minutes",
        )
    if rate is None and minutes:
        rate = doses.infusion_rate(volume, minutes)
    elif rate is not None and not minutes:
        minutes = doses.infusion_minutes(volume, rate)
    return {
        "diluent": diluent,
        "infusion_volume_ml": volume,
        "infusion_rate_ml_per_hour": rate,
        "infusion_minutes": minutes,
    }


def dose_findings(vmp: VMP, kind: str, values: dict[str, Any], dose_unit: str) -> list[PendingCheck]:
    """A dose above the formulary's maximum single or daily dose, when given in the same unit."""
    limits = selectors.dose_limits(vmp)
    if limits is None or limits.unit != dose_unit:
        return []
    per_day = 1
    if kind == PrescriptionKind.REGULAR:
        per_day = len(values["times_of_day"])
    elif kind == PrescriptionKind.AS_REQUIRED:
        per_day = values["max_doses_in_24_hours"] or 1
    steps = [Decimal(step["dose"]) for step in values.get("dose_steps", [])]
    found = checks.maximum_dose_findings(
        dose=max([values["dose_value"], *steps]),
        doses_per_day=per_day,
        unit=dose_unit,
        max_single=limits.max_single,
        max_daily=limits.max_daily,
    )
    return [PendingCheck(check_key(f), f) for f in found]


def _times(values: Sequence[str]) -> list[str]:
    cleaned = sorted({v.strip() for v in values if v.strip()})
    bad = [v for v in cleaned if not _TIME.match(v)]
    if bad:
        raise RecordError(
            f"Give times of day as HH:MM (24-hour clock), not {', '.join(bad)}.", field="times_of_day"
        )
    return cleaned


def _check_shape(kind: str, values: dict[str, Any], vmp: VMP) -> None:
    errors: dict[str, str] = {}
    if values["dose_value"] is None or values["dose_value"] <= 0:
        errors["dose_value"] = "Give a dose greater than zero."
    if kind == PrescriptionKind.REGULAR and not values["times_of_day"]:
        errors["times_of_day"] = "A regular prescription needs the times of day it is given."
    if kind == PrescriptionKind.AS_REQUIRED:
        if not values["indication"]:
            errors["indication"] = "An as-required prescription needs its indication (what it is for)."
        if values["min_interval_minutes"] is None and values["max_doses_in_24_hours"] is None:
            errors["min_interval_minutes"] = (
                "Give the minimum interval between doses or the most in 24 hours."
            )
    if selectors.is_antimicrobial(vmp):  # Start Smart then Focus
        if not values["indication"]:
            errors["indication"] = "An antimicrobial needs its indication."
        if values["review_on"] is None and values["ends_at"] is None:
            errors["review_on"] = "An antimicrobial needs a review date or a stop date."
    if values["ends_at"] is not None and values["ends_at"] <= values["starts_at"]:
        errors["ends_at"] = "The end must be after the start."
    if errors:
        raise RecordError(" ".join(errors.values()), errors=errors)


@transaction.atomic
def prescription_create(
    *,
    prescribed_by: Any,
    patient: Patient,
    vmp: VMP,
    kind: str,
    dose_value: Decimal | None,
    dose_unit: str,
    route: str,
    starts_at: datetime | None = None,
    times_of_day: Sequence[str] = (),
    min_interval_minutes: int | None = None,
    max_doses_in_24_hours: int | None = None,
    indication: str = "",
    notes_for_administration: str = "",
    ends_at: datetime | None = None,
    review_on: date | None = None,
    amp: AMP | None = None,
    encounter: Encounter | None = None,
    setting: str = Setting.INPATIENT,
    answers: Mapping[str, str] | None = None,
    replaces: Prescription | None = None,
    dose_per_kg: Decimal | None = None,
    diluent: str = "",
    infusion_volume_ml: Decimal | None = None,
    infusion_rate_ml_per_hour: Decimal | None = None,
    infusion_minutes: int | None = None,
    dose_steps: Sequence[tuple[Decimal, int]] = (),
) -> Prescription:
    """Write a prescription, refusing with ChecksNeedAnswers while any finding has no reason. With
    `dose_per_kg` the dose is calculated from the latest recorded weight and rounded to a measurable
    amount of the product (its unit's strength, or 0.1 ml of a liquid)."""
    patient_require_writable(patient)
    Patient.objects.select_for_update().get(pk=patient.pk)  # one prescribing decision at a time
    now = timezone.now()
    weight: WeightUsed | None = None
    if dose_per_kg is not None:
        weight = _weight_based(patient, vmp, dose_per_kg, dose_unit.strip(), now)
        dose_value = weight.dose
    values: dict[str, Any] = {
        "dose_value": dose_value,
        "times_of_day": _times(times_of_day) if kind == PrescriptionKind.REGULAR else [],
        "min_interval_minutes": min_interval_minutes,
        "max_doses_in_24_hours": max_doses_in_24_hours,
        "indication": " ".join(indication.split()),
        "ends_at": ends_at,
        "review_on": review_on,
        "starts_at": starts_at or now,
    }
    if dose_steps:
        if kind != PrescriptionKind.REGULAR:
            raise RecordError(
                "A stepped course is a regular prescription: give its times of day.", field="kind"
            )
        steps, course_ends = doses.stepped_course(timezone.localdate(values["starts_at"]), dose_steps)
        values["dose_value"] = steps[0].dose
        values["dose_steps"] = [{"from": step.starts.isoformat(), "dose": str(step.dose)} for step in steps]
        if values["ends_at"] is None:
            values["ends_at"] = datetime.combine(course_ends, datetime.min.time(), tzinfo=doses.WARD_TIME)
    values |= _infusion(diluent, infusion_volume_ml, infusion_rate_ml_per_hour, infusion_minutes)
    _check_shape(kind, values, vmp)
    if amp is not None and amp.vmp_id != vmp.pk:
        raise RecordError("The brand chosen is not a brand of that medicine.", field="amp")
    pending = findings_for(patient, vmp)  # a replaced prescription is stopped already: no duplicate
    pending += dose_findings(vmp, kind, values, dose_unit.strip())
    if weight is not None and weight.stale_days:
        pending.append(_stale_weight(weight))
    reasons = {key: " ".join(text.split()) for key, text in (answers or {}).items()}
    unanswered = [p for p in pending if not reasons.get(p.key)]
    if unanswered:
        raise ChecksNeedAnswers(pending)
    prescription = Prescription.objects.create(
        patient=patient,
        encounter=encounter,
        vmp=vmp,
        amp=amp,
        kind=kind,
        setting=setting,
        dose_unit=dose_unit.strip(),
        route=route.strip(),
        notes_for_administration=notes_for_administration.strip(),
        prescribed_by=prescribed_by,
        prescribed_at=now,
        replaces=replaces,
        dose_per_kg=dose_per_kg,
        dosing_weight_kg=weight.kg if weight else None,
        dosing_weight_at=weight.taken_at if weight else None,
        **values,
    )
    PrescriptionCheck.objects.bulk_create(
        PrescriptionCheck(
            prescription=prescription,
            kind=p.finding.kind,
            severity=p.finding.severity,
            message=p.finding.message,
            outcome=CheckOutcome.OVERRIDDEN,
            reason=reasons[p.key],
            decided_by=prescribed_by,
            decided_at=now,
        )
        for p in pending
    )
    audit_record(
        user=prescribed_by,
        action=Action.CREATE,
        patient_id=patient.pk,
        obj=prescription,
        detail={"overridden": [p.finding.kind for p in pending]},
    )
    return prescription


@transaction.atomic
def prescription_stop(
    *, stopped_by: Any, prescription: Prescription, reason: str, expected_version: int | None = None
) -> Prescription:
    reason = " ".join(reason.split())
    if not reason:
        raise RecordError("Give the reason the prescription is stopped.", field="reason")
    locked = lock_for_edit(
        prescription,
        expected_version,
        noun="prescription",
        refuse=lambda row: (
            "This prescription is already stopped." if row.status == PrescriptionStatus.STOPPED else ""
        ),
    )
    locked.status = PrescriptionStatus.STOPPED
    locked.stopped_by, locked.stopped_at, locked.stop_reason = stopped_by, timezone.now(), reason
    locked.version += 1
    history_note(locked, reason=f"Stopped: {reason}", user=stopped_by)
    locked.save()
    audit_record(
        user=stopped_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": "stopped"},
    )
    return locked


@transaction.atomic
def prescription_replace(
    *,
    prescribed_by: Any,
    prescription: Prescription,
    reason: str,
    expected_version: int | None = None,
    **new: Any,
) -> Prescription:
    """Change a prescription the only way it changes: stop it, and write the new one in its place."""
    stopped = prescription_stop(
        stopped_by=prescribed_by, prescription=prescription, reason=reason, expected_version=expected_version
    )
    return prescription_create(prescribed_by=prescribed_by, patient=stopped.patient, replaces=stopped, **new)


def prescriptions_stop_on_discharge(*, encounter: Encounter) -> int:
    """Discharge ends the inpatient chart: every active inpatient prescription of the patient is
    stopped, by whoever discharged them. To-take-out and outpatient prescriptions stay. Idempotent."""
    stopped_by = encounter.discharged_by or encounter.admitted_by
    active = Prescription.objects.filter(
        patient_id=encounter.patient_id, status=PrescriptionStatus.ACTIVE, setting=Setting.INPATIENT
    )
    count = 0
    for prescription in active:
        with transaction.atomic():
            prescription_stop(stopped_by=stopped_by, prescription=prescription, reason="Patient discharged")
        count += 1
    return count
