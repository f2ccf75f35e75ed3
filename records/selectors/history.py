"""Reading an entry's history (django-simple-history): each version beside the one before it, so a page
can say what each change changed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

Version = TypeVar("Version")


def with_previous(newest_first: Sequence[Version]) -> Iterator[tuple[Version, Version | None]]:
    """Each version with the one it replaced (None for the first version ever saved)."""
    yield from zip(newest_first, [*newest_first[1:], None], strict=True)
