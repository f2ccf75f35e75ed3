"""Demo data other apps add after records' own (`manage.py seed_demo`): each loader is called with the
demo staff and must be idempotent, since seed_demo runs them on every call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoLoader:
    key: str
    load: Callable[[Callable[[str], Any]], str]  # given a writer for progress, returns a summary line
    order: int = 100


_loaders: dict[str, DemoLoader] = {}


def register_demo_loader(loader: DemoLoader) -> None:
    _loaders[loader.key] = loader


def demo_loaders() -> list[DemoLoader]:
    return sorted(_loaders.values(), key=lambda loader: loader.order)
