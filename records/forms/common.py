"""What the record's forms share: the placeholder of a select, and one message for a missing or unknown
choice."""

from __future__ import annotations

CHOOSE = "Choose..."


def required_choice(message: str) -> dict[str, str]:
    return {"required": message, "invalid_choice": message}
