"""How much of a product's unit dose a dose uses: 1000 mg of paracetamol 500 mg tablets is 2 tablets;
5 mg of morphine 10 mg/5 ml oral solution is 2.5 ml. None when the units do not meet (the dose is in
a unit the strength is not), so the stock is not guessed at."""

from __future__ import annotations

from decimal import Decimal

COUNTED = {
    "tablet",
    "capsule",
    "ampoule",
    "vial",
    "pre-filled syringe",
    "pre-filled pen",
    "bag",
    "patch",
    "suppository",
    "sachet",
    "dose",
    "application",
    "drop",
}
SAME = {
    "gram": "g",
    "g": "g",
    "mg": "mg",
    "microgram": "microgram",
    "unit": "unit",
    "ml": "ml",
    "mmol": "mmol",
}


def units_used(
    *,
    dose_value: Decimal,
    dose_unit: str,
    unit_dose: str,
    strength_value: Decimal | None,
    strength_unit: str,
    per_value: Decimal | None,
    per_unit: str,
) -> Decimal | None:
    dose_unit, unit_dose = dose_unit.strip().lower(), unit_dose.strip().lower()
    if dose_unit == unit_dose or (dose_unit in COUNTED and dose_unit.rstrip("s") == unit_dose):
        return dose_value
    if (
        strength_value is None
        or strength_value <= 0
        or SAME.get(dose_unit) != SAME.get(strength_unit.lower())
    ):
        return None
    if per_value is None:  # a strength per tablet, ampoule...
        return dose_value / strength_value
    if unit_dose == per_unit.lower():  # a strength per ml, the liquid counted in ml
        return dose_value / strength_value * per_value
    return None
