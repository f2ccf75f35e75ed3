"""The trust's results policy, from settings: the critical limits that raise an urgent alert at once
(by LOINC code, or the laboratory's local code), and how long a final result may wait for its
acknowledgement before it escalates."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

# code: (what it is, below this is critical, above this is critical); None where only one side is.
CRITICAL_LIMITS: dict[str, tuple[str, Decimal | None, Decimal | None]] = {
    "2823-3": ("Potassium", Decimal("2.5"), Decimal("6.5")),
    "6298-4": ("Potassium", Decimal("2.5"), Decimal("6.5")),
    "2951-2": ("Sodium", Decimal("120"), Decimal("160")),
    "2345-7": ("Glucose", Decimal("2.5"), Decimal("25")),
    "17861-6": ("Calcium", Decimal("1.8"), Decimal("3.5")),
    "718-7": ("Haemoglobin", Decimal("70"), None),
    "777-3": ("Platelets", Decimal("20"), Decimal("1000")),
    "6301-6": ("INR", None, Decimal("8")),
    "26499-4": ("Neutrophils", Decimal("0.5"), None),
}


def critical_limits() -> dict[str, tuple[str, Decimal | None, Decimal | None]]:
    return dict(getattr(settings, "EPR_CRITICAL_LIMITS", CRITICAL_LIMITS))


def acknowledgement_hours() -> int:
    return int(getattr(settings, "EPR_RESULT_ACK_HOURS", 24))
