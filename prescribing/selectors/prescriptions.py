"""Reads of a patient's prescriptions and of what the checks at prescribing compare: a product's
ingredients, the recorded allergies, the active prescriptions. Also the subject-access export's
medicines section."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch

from prescribing.models import (
    VMP,
    Administration,
    FormularyEntry,
    Prescription,
    PrescriptionStatus,
    VMPIngredient,
)
from prescribing.rules import checks
from records.models import ENTERED_IN_ERROR, AllergyIntolerance, AllergyKind, ClinicalStatus, Patient
from records.registries.subject_access import SectionEntry


@dataclass(frozen=True)
class DoseLimits:
    unit: str
    max_single: Decimal | None
    max_daily: Decimal | None


def dose_limits(vmp: VMP) -> DoseLimits | None:
    """The formulary's maximum doses for the product, if it has any."""
    entry = FormularyEntry.objects.filter(vmp=vmp).first()
    if entry is None or (entry.max_single_dose is None and entry.max_daily_dose is None):
        return None
    return DoseLimits(entry.max_dose_unit, entry.max_single_dose, entry.max_daily_dose)


def measurable_step(vmp: VMP, unit: str) -> Decimal:
    """The smallest amount of `unit` a nurse can measure of this product: one unit dose's strength
    (a tablet, an ampoule) when the product has one strength in that unit, 0.1 ml's worth of a
    liquid, else a tenth (a whole unit for insulin units)."""
    strengths = list(vmp.ingredients.all()[:2])
    strength = strengths[0] if len(strengths) == 1 else None
    value = strength.strength_value if strength is not None else None
    if strength is not None and value and strength.strength_units.lower() == unit.lower():
        if strength.per_value is None:
            return value
        if strength.per_units.lower() == "ml":
            return value / strength.per_value * Decimal("0.1")
    return Decimal("1") if unit.lower() == "unit" else Decimal("0.1")


def is_antimicrobial(vmp: VMP) -> bool:
    """An antibacterial, antifungal or antiviral: the formulary's group, BNF chapter 5, or a class the
    checks know (for products loaded without either)."""
    entry = FormularyEntry.objects.filter(vmp=vmp).only("group").first()
    return (
        (entry is not None and entry.group == "antimicrobial")
        or vmp.bnf_code.startswith("5.")
        or bool(checks.classes_of(ingredient_names(vmp)))
    )


def ingredient_names(vmp: VMP) -> list[str]:
    """The product's active ingredients; for a product listed without them, its moiety's parts."""
    names = [i.ingredient.name for i in vmp.ingredients.all()]  # prefetched where it matters
    if not names and vmp.vtm is not None:
        names = [part.strip() for part in vmp.vtm.name.split("+")]
    return names or [vmp.name]


def recorded_allergy_names(patient: Patient) -> list[str]:
    """The substances of the patient's current allergies and intolerances (not struck through)."""
    return [
        a.substance
        for a in AllergyIntolerance.objects.filter(patient=patient, clinical_status=ClinicalStatus.ACTIVE)
        .exclude(status=ENTERED_IN_ERROR)
        .exclude(kind=AllergyKind.NO_KNOWN_ALLERGY)
    ]


def active_for_checks(patient: Patient, *, excluding: Prescription | None = None) -> list[checks.Active]:
    """The patient's active prescriptions with their ingredients, in two queries however many."""
    found = Prescription.objects.filter(patient=patient, status=PrescriptionStatus.ACTIVE)
    if excluding is not None:
        found = found.exclude(pk=excluding.pk)
    active = found.select_related("vmp__vtm").prefetch_related(
        Prefetch("vmp__ingredients", queryset=VMPIngredient.objects.select_related("ingredient"))
    )
    return [checks.Active(p.vmp.name, checks.ingredients_of(ingredient_names(p.vmp))) for p in active]


def _person(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def prescription_entries(patient: Patient) -> list[SectionEntry]:
    """Every prescription, stopped and struck-through ones included, with the checks answered."""
    prescriptions = (
        Prescription.objects.filter(patient=patient)
        .select_related("vmp", "amp", "prescribed_by", "stopped_by")
        .prefetch_related("checks", "reviews__by")
        .order_by("prescribed_at", "pk")
    )
    return [
        SectionEntry(
            id=str(p.pk),
            when=p.prescribed_at,
            summary=str(p),
            details={
                "Medicine": p.vmp.name,
                "Brand": p.amp.name if p.amp else "",
                "Kind": p.get_kind_display(),
                "Dose": f"{p.dose_value.normalize():f} {p.dose_unit}",
                "Route": p.route,
                "Times": ", ".join(p.times_of_day),
                "Indication": p.indication,
                "Starts": p.starts_at,
                "Ends": p.ends_at,
                "Prescribed by": _person(p.prescribed_by),
                "Status": p.get_status_display(),
                "Stopped by": _person(p.stopped_by),
                "Stop reason": p.stop_reason,
            },
            rows=tuple(
                {"Check": c.message, "Outcome": c.get_outcome_display(), "Reason": c.reason}
                for c in p.checks.all()
            )
            + tuple(
                {"Check": f"Pharmacy: {r.get_action_display()}", "Outcome": _person(r.by), "Reason": r.text}
                for r in p.reviews.all()
            ),
            entered_in_error=p.status == ENTERED_IN_ERROR,
        )
        for p in prescriptions
    ]


def administration_entries(patient: Patient) -> list[SectionEntry]:
    """Every dose given or not given, struck-through records included."""
    records = (
        Administration.objects.filter(patient=patient)
        .select_related("prescription__vmp", "recorded_by", "witness")
        .order_by("at", "pk")
    )
    return [
        SectionEntry(
            id=str(a.pk),
            when=a.at,
            summary=f"{a.prescription.vmp.name}: {a.get_outcome_display()}",
            details={
                "Medicine": a.prescription.vmp.name,
                "Outcome": a.get_outcome_display(),
                "Dose": f"{a.dose_value.normalize():f} {a.dose_unit}" if a.dose_value else "",
                "Route": a.route,
                "Due": a.due_at,
                "Batch": a.batch,
                "Expiry": a.expiry,
                "Reason not given": a.not_given_reason,
                "Details": a.not_given_text,
                "Recorded by": _person(a.recorded_by),
                "Witness": _person(a.witness),
            },
            rows=tuple(
                {"Check": o.get("message", ""), "Outcome": "Overridden", "Reason": o.get("reason", "")}
                for o in a.overrides
            ),
            entered_in_error=a.entered_in_error,
        )
        for a in records
    ]
