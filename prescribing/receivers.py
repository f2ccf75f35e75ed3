"""What prescribing does when records says something happened (records.signals), connected in
wiring.py: a discharge stops the inpatient drug chart."""

from __future__ import annotations

from typing import Any

from prescribing.services.prescriptions import prescriptions_stop_on_discharge


def stop_inpatient_chart(sender: Any, encounter: Any, **kwargs: Any) -> None:
    prescriptions_stop_on_discharge(encounter=encounter)
