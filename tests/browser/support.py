"""Helpers the browser journeys share."""

from __future__ import annotations

import re


def field(label: str) -> re.Pattern[str]:
    """A form label as shown, with or without the " (optional)" the field template adds."""
    return re.compile(rf"^{re.escape(label)}( \(optional\))?$")
