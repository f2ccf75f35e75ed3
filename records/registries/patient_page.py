"""What the patient page frame shows, filled from each app's wiring.py: the record's sections (the
navigation under the banner) and items in the banner's clinical row (a legal status, high-risk
medicines). records registers its own sections; the banner's core facts are records' own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PatientSection:
    label: str
    url_name: str  # takes the patient's id: "records:observation_chart"
    order: int
    clinical: bool = True  # shown only to someone with clinical access to the patient
    # The pages that mark this section as the one being looked at (its own page is always one).
    also_current_on: tuple[str, ...] = ()
    # Whether it is current for this user on the page with this view name, when that is not enough.
    current_when: Callable[[str, Any], bool] | None = None


@dataclass(frozen=True)
class BannerItem:
    """A template included in the banner's clinical row, given `opened` and `patient`; shown_for
    decides from the opened record whether there is anything to show (it must not query per item)."""

    key: str
    template: str
    order: int
    shown_for: Callable[[Any], bool] = field(default=lambda opened: True)


_sections: dict[str, PatientSection] = {}
_banner_items: dict[str, BannerItem] = {}


def register_patient_section(section: PatientSection) -> None:
    _sections[section.url_name] = section


def patient_sections() -> list[PatientSection]:
    return sorted(_sections.values(), key=lambda s: s.order)


def register_banner_item(item: BannerItem) -> None:
    _banner_items[item.key] = item


def banner_items() -> list[BannerItem]:
    return sorted(_banner_items.values(), key=lambda item: item.order)
