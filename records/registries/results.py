"""The latest result of a kind for a patient (an eGFR, a creatinine clearance, a potassium), for apps
that check against one (prescribing's renal dose warnings) without importing the app that holds
results. The app that files results (orders) registers a provider for each kind it can answer from
its wiring.py; with none registered, nothing is known and the checks that need it say so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from records.models import Patient

EGFR = "egfr"  # mL/min/1.73m2
CREATININE_CLEARANCE = "creatinine-clearance"  # mL/min (Cockcroft-Gault)


@dataclass(frozen=True)
class LatestResult:
    kind: str
    value: Decimal
    unit: str
    at: datetime


Provider = Callable[[Patient], LatestResult | None]
_providers: dict[str, list[Provider]] = {}


def register_result_provider(kind: str, provider: Provider) -> None:
    providers = _providers.setdefault(kind, [])
    if provider not in providers:
        providers.append(provider)


def latest_result(patient: Patient, kind: str) -> LatestResult | None:
    """The newest result of the kind any provider knows, or None."""
    found = [result for provider in _providers.get(kind, []) if (result := provider(patient)) is not None]
    return max(found, key=lambda r: r.at) if found else None
