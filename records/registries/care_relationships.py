"""Kinds of care relationship: why a group of staff may open a patient's record. records registers
ward stays and treating teams; scheduling will register clinic appointments and referrals from its
wiring.py. A relationship of a kind nobody registered is refused, so the access log always says why."""

from __future__ import annotations

_kinds: dict[str, str] = {}

CODE_LENGTH = 10  # CareRelationship.kind's column


def register_care_relationship_kind(code: str, label: str) -> None:
    if not code or len(code) > CODE_LENGTH:
        raise ValueError(f"Care relationship kind {code!r}: 1 to {CODE_LENGTH} characters.")
    if _kinds.get(code, label) != label:
        raise ValueError(f"Care relationship kind {code!r} is already registered as {_kinds[code]!r}.")
    _kinds[code] = label


def care_relationship_kind_label(code: str) -> str:
    try:
        return _kinds[code]
    except KeyError:
        raise LookupError(f"No care relationship kind {code!r} is registered.") from None


def care_relationship_kinds() -> dict[str, str]:
    return dict(_kinds)
