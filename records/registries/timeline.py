"""The record timeline's sources: each kind of entry registers how to fetch its items (one query per
source, so the page cost does not grow with the record). Filled from each app's wiring.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model, Q

from records.models import Patient


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    title: str
    detail: str
    by: str
    entered_in_error: bool = False
    history_kind: str = ""  # the kind of a source with a history_model, when the entry has versions
    entry_id: int | None = None
    raised: tuple[str, ...] = ()  # alerts this entry raised or updated, shown under it


Fetch = Callable[[Patient, datetime | None, datetime | None, int], Iterable[TimelineItem]]


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    label: str
    fetch: Fetch
    history_model: type[Model] | None = None  # whose versions "as it was" pages show
    visible: Q | None = None  # which entries are part of the record for everyone (not a draft)
    visible_version: Callable[[Any], bool] | None = None  # the same, for one historical version


_sources: dict[str, TimelineSource] = {}


def register_source(source: TimelineSource) -> None:
    _sources[source.kind] = source


def sources() -> dict[str, TimelineSource]:
    return dict(_sources)


def source_labels() -> dict[str, str]:
    return {kind: source.label for kind, source in _sources.items()}


def history_models() -> dict[str, type[Model]]:
    return {kind: s.history_model for kind, s in _sources.items() if s.history_model is not None}
