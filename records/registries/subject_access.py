"""What a subject-access export contains: sections, each collecting one kind of entry, registered from
each app's wiring.py. Every model that holds a patient's data names the section that exports it, or
is listed as not exported with the reason; a guard test fails on a patient-linked model in neither."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Model

from records.models import Patient


@dataclass(frozen=True)
class SectionEntry:
    """One entry of the record. `details` maps a label to a JSON-friendly value (str, number, bool,
    None, date, datetime or Decimal); `rows` are sub-entries (e.g. the ward stays of an admission)."""

    id: str
    when: datetime | date | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    rows: tuple[dict[str, Any], ...] = ()
    entered_in_error: bool = False


Collector = Callable[[Patient], list[SectionEntry]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    collect: Collector
    order: int = 100
    table: bool = False  # print the entries as rows of one table (short, uniform entries)
    models: tuple[type[Model], ...] = ()  # the models whose rows this section exports


_sections: dict[str, Section] = {}
_not_exported: dict[type[Model], str] = {}
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def register_section(
    key: str,
    title: str,
    collect: Collector,
    *,
    order: int = 100,
    table: bool = False,
    models: tuple[type[Model], ...] = (),
) -> None:
    if not _KEY.match(key):
        raise ValueError(f"Section key {key!r}: use lower-case letters, digits and hyphens.")
    existing = _sections.get(key)
    if existing is not None and existing.collect is not collect:
        raise ValueError(f"A subject-access section {key!r} is already registered.")
    _sections[key] = Section(key=key, title=title, collect=collect, order=order, table=table, models=models)


def unregister_section(key: str) -> None:
    _sections.pop(key, None)


def register_not_exported(model: type[Model], reason: str) -> None:
    """A patient-linked model deliberately left out of the export, and why (for the guard test and the
    information governance team)."""
    _not_exported[model] = reason


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.title))


def section_titles() -> dict[str, str]:
    return {s.key: s.title for s in sections()}


def exported_models() -> set[type[Model]]:
    return {model for section in _sections.values() for model in section.models}


def not_exported() -> dict[type[Model], str]:
    return dict(_not_exported)
