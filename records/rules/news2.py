"""NEWS2 (Royal College of Physicians, 2017): pure scoring rules, no ORM.

Values are scored at the precision they are recorded: temperature to one decimal place (rounded
half-up, so 35.05 scores as 35.1), everything else as whole numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from records.errors import RecordError


class Consciousness(StrEnum):
    ALERT = "A"
    NEW_CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


class Risk(StrEnum):
    LOW = "low"
    LOW_MEDIUM = "low-medium"
    MEDIUM = "medium"
    HIGH = "high"


class Escalation(StrEnum):
    NONE = ""
    ALERT = "alert"  # a red score or total 5-6: nurse in charge and medical team
    URGENT = "urgent"  # total 7+: emergency response


# Plausible ranges: a value outside is a typing error, refused rather than scored.
PLAUSIBLE = {
    "respiration_rate": (1, 80, "breaths per minute"),
    "spo2": (40, 100, "%"),
    "systolic_bp": (40, 300, "mmHg"),
    "diastolic_bp": (10, 200, "mmHg"),
    "pulse": (20, 300, "beats per minute"),
    "temperature": (Decimal("25.0"), Decimal("45.0"), "°C"),
    "oxygen_flow": (Decimal("0"), Decimal("60"), "L/min"),
    "weight": (Decimal("0.2"), Decimal("500"), "kg"),
    "height": (Decimal("20"), Decimal("280"), "cm"),
    "pain_score": (0, 10, ""),
}

LABELS = {
    "respiration_rate": "Respiration rate",
    "spo2": "SpO2",
    "systolic_bp": "Systolic blood pressure",
    "diastolic_bp": "Diastolic blood pressure",
    "pulse": "Pulse",
    "temperature": "Temperature",
    "oxygen_flow": "Oxygen flow",
    "weight": "Weight",
    "height": "Height",
    "pain_score": "Pain score",
}

NEWS2_PARAMETERS = (
    "respiration_rate",
    "spo2",
    "on_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)


class VitalSignsError(RecordError, ValueError):
    """Values refused as implausible or missing, each on its field ("__all__" for the whole set)."""

    about_values = True

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()), errors=errors)


@dataclass(frozen=True)
class VitalSigns:
    respiration_rate: int
    spo2: int
    on_oxygen: bool
    systolic_bp: int
    pulse: int
    consciousness: Consciousness
    temperature: Decimal


@dataclass(frozen=True)
class News2Result:
    total: int
    scores: dict[str, int] = field(default_factory=dict)
    scale: int = 1

    @property
    def red_score(self) -> bool:
        return any(score == 3 for score in self.scores.values())

    @property
    def risk(self) -> Risk:
        if self.total >= 7:
            return Risk.HIGH
        if self.total >= 5:
            return Risk.MEDIUM
        if self.red_score:
            return Risk.LOW_MEDIUM
        return Risk.LOW

    @property
    def escalation(self) -> Escalation:
        if self.total >= 7:
            return Escalation.URGENT
        if self.total >= 5 or self.red_score:
            return Escalation.ALERT
        return Escalation.NONE

    @property
    def monitoring_interval(self) -> timedelta:
        """Minimum observation frequency (RCP Chart 4). Continuous monitoring is checked half-hourly."""
        if self.total >= 7:
            return timedelta(minutes=30)
        if self.total >= 5 or self.red_score:
            return timedelta(hours=1)
        if self.total >= 1:
            return timedelta(hours=4)
        return timedelta(hours=12)

    @property
    def monitoring(self) -> str:
        if self.total >= 7:
            return "Continuous monitoring of vital signs"
        if self.total >= 5 or self.red_score:
            return "Minimum 1-hourly"
        if self.total >= 1:
            return "Minimum 4-6-hourly"
        return "Minimum 12-hourly"

    @property
    def response(self) -> str:
        if self.total >= 7:
            return (
                "Emergency response: inform the medical team immediately (at least specialist registrar); "
                "assessment by a team with critical-care competencies; consider HDU/ICU."
            )
        if self.total >= 5:
            return (
                "Urgent response: inform the medical team immediately; urgent assessment by a clinician "
                "with acute-illness competencies."
            )
        if self.red_score:
            return "Urgent ward-based response: inform the medical team caring for the patient."
        if self.total >= 1:
            return "Registered nurse to assess and decide whether to increase monitoring or escalate."
        return "Continue routine NEWS2 monitoring."


def round_temperature(value: Decimal) -> Decimal:
    try:
        return Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # too large to hold at one decimal place: the range check refuses it
        return Decimal(value)


@dataclass(frozen=True)
class Band:
    """One row of the RCP scoring table: values from low to high (inclusive) score `score`."""

    label: str
    score: int
    low: Decimal
    high: Decimal

    def holds(self, value) -> bool:
        return value is not None and self.low <= value <= self.high


def _band(label: str, score: int, low, high) -> Band:
    return Band(label, score, Decimal(str(low)), Decimal(str(high)))


# Highest band first, as on the chart. The scores and the chart's rows both come from these tables.
RESPIRATION_BANDS = (
    _band("≥25", 3, 25, 999),
    _band("21–24", 2, 21, 24),
    _band("12–20", 0, 12, 20),
    _band("9–11", 1, 9, 11),
    _band("≤8", 3, 0, 8),
)
SPO2_SCALE1_BANDS = (
    _band("≥96", 0, 96, 100),
    _band("94–95", 1, 94, 95),
    _band("92–93", 2, 92, 93),
    _band("≤91", 3, 0, 91),
)
SYSTOLIC_BANDS = (
    _band("≥220", 3, 220, 999),
    _band("111–219", 0, 111, 219),
    _band("101–110", 1, 101, 110),
    _band("91–100", 2, 91, 100),
    _band("≤90", 3, 0, 90),
)
PULSE_BANDS = (
    _band("≥131", 3, 131, 999),
    _band("111–130", 2, 111, 130),
    _band("91–110", 1, 91, 110),
    _band("51–90", 0, 51, 90),
    _band("41–50", 1, 41, 50),
    _band("≤40", 3, 0, 40),
)
TEMPERATURE_BANDS = (
    _band("≥39.1", 2, "39.1", 99),
    _band("38.1–39.0", 1, "38.1", "39.0"),
    _band("36.1–38.0", 0, "36.1", "38.0"),
    _band("35.1–36.0", 1, "35.1", "36.0"),
    _band("≤35.0", 3, 0, "35.0"),
)


def band_of(bands: tuple[Band, ...], value) -> Band:
    return next(b for b in bands if b.holds(value))


def score_respiration(rate: int) -> int:
    return band_of(RESPIRATION_BANDS, rate).score


def score_spo2_scale1(spo2: int) -> int:
    return band_of(SPO2_SCALE1_BANDS, spo2).score


def score_spo2_scale2(spo2: int, *, on_oxygen: bool) -> int:
    if spo2 <= 83:
        return 3
    if spo2 <= 85:
        return 2
    if spo2 <= 87:
        return 1
    if spo2 <= 92 or not on_oxygen:
        return 0
    if spo2 <= 94:
        return 1
    if spo2 <= 96:
        return 2
    return 3


def score_air_or_oxygen(on_oxygen: bool) -> int:
    return 2 if on_oxygen else 0


def score_systolic(systolic: int) -> int:
    return band_of(SYSTOLIC_BANDS, systolic).score


def score_pulse(pulse: int) -> int:
    return band_of(PULSE_BANDS, pulse).score


def score_consciousness(level: Consciousness | str) -> int:
    return 0 if Consciousness(level) == Consciousness.ALERT else 3


def score_temperature(temperature: Decimal) -> int:
    return band_of(TEMPERATURE_BANDS, round_temperature(temperature)).score


def range_error(name: str, value) -> str | None:
    """Why a value is outside its plausible range, or None when it is inside (or has no range)."""
    if value is None or name not in PLAUSIBLE:
        return None
    low, high, unit = PLAUSIBLE[name]
    if low <= value <= high:
        return None
    return f"{LABELS[name]} must be between {low} and {high} {unit}".rstrip() + "."


def check_plausible(values: Mapping[str, Any]) -> None:
    """Refuse impossible values with a message per field; missing values are not checked here."""
    errors = {}
    for name, value in values.items():
        message = range_error(name, value)
        if message:
            errors[name] = message
    diastolic, systolic = values.get("diastolic_bp"), values.get("systolic_bp")
    if (
        diastolic is not None
        and systolic is not None
        and diastolic >= systolic
        and "diastolic_bp" not in errors
    ):
        errors["diastolic_bp"] = "Diastolic blood pressure must be lower than systolic."
    if values.get("oxygen_flow") and not values.get("on_oxygen"):
        errors["oxygen_flow"] = "An oxygen flow was given but the patient is recorded as on air."
    if values.get("consciousness") not in (None, ""):  # "" is the form's "Not recorded", not a typo
        try:
            Consciousness(values["consciousness"])
        except ValueError:
            errors["consciousness"] = "Consciousness must be one of A, C, V, P or U (ACVPU)."
    if errors:
        raise VitalSignsError(errors)


def news2(vitals: VitalSigns, *, scale: int = 1) -> News2Result:
    """Score a complete set. Scale 2 only for a patient a clinician has put on it."""
    check_plausible(vitals.__dict__)
    if scale not in (1, 2):
        raise ValueError("SpO2 scale is 1 or 2")
    spo2_score = (
        score_spo2_scale1(vitals.spo2)
        if scale == 1
        else score_spo2_scale2(vitals.spo2, on_oxygen=vitals.on_oxygen)
    )
    scores = {
        "respiration_rate": score_respiration(vitals.respiration_rate),
        "spo2": spo2_score,
        "on_oxygen": score_air_or_oxygen(vitals.on_oxygen),
        "systolic_bp": score_systolic(vitals.systolic_bp),
        "pulse": score_pulse(vitals.pulse),
        "consciousness": score_consciousness(vitals.consciousness),
        "temperature": score_temperature(vitals.temperature),
    }
    return News2Result(total=sum(scores.values()), scores=scores, scale=scale)


# How the missing parameters of an unscored set are named to the nurse, in chart order.
MISSING_NAMES = {
    "respiration_rate": "respiration rate",
    "spo2": "SpO2",
    "on_oxygen": "air or oxygen",
    "systolic_bp": "systolic BP",
    "pulse": "pulse",
    "consciousness": "consciousness",
    "temperature": "temperature",
}


def missing_parameters(values: Mapping[str, object]) -> list[str]:
    """The NEWS2 parameters a set lacks (so it cannot be scored), named as in MISSING_NAMES."""
    return [MISSING_NAMES[name] for name in NEWS2_PARAMETERS if values.get(name) in (None, "")]


def describe_missing(values: Mapping[str, object]) -> str:
    """'respiration rate, SpO2 or temperature' (empty when nothing is missing)."""
    missing = missing_parameters(values)
    if len(missing) <= 1:
        return "".join(missing)
    return f"{', '.join(missing[:-1])} or {missing[-1]}"


def not_scored_reason(values: Mapping[str, object]) -> str:
    """'NEWS2 not scored: the set has no respiration rate, SpO2 or temperature.'"""
    named = describe_missing(values)
    return f"NEWS2 not scored: the set has no {named}." if named else ""
