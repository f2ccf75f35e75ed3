"""What scheduling does when records says something happened (records.signals), connected in
wiring.py: the bed a discharged or moved patient left awaits cleaning on the bed board."""

from __future__ import annotations

from typing import Any

from scheduling.services.beds import bed_left_by_encounter


def bed_awaits_cleaning(sender: Any, encounter: Any, **kwargs: Any) -> None:
    bed_left_by_encounter(encounter=encounter)
