"""What prescribing does when records says something happened (records.signals), connected in
wiring.py: a discharge stops the inpatient drug chart; a new allergy is checked against what is
already prescribed."""

from __future__ import annotations

from typing import Any

from prescribing.services.prescriptions import prescriptions_stop_on_discharge
from prescribing.services.rechecks import recheck_after_allergy, recheck_after_weight


def stop_inpatient_chart(sender: Any, encounter: Any, **kwargs: Any) -> None:
    prescriptions_stop_on_discharge(encounter=encounter)


def check_prescriptions_again(sender: Any, allergy: Any, **kwargs: Any) -> None:
    recheck_after_allergy(allergy=allergy)


def check_weight_based_doses(sender: Any, observation_set: Any, **kwargs: Any) -> None:
    recheck_after_weight(observation_set=observation_set)
