"""Kinds of care relationship: why a group of staff may open a patient's record. records registers
ward stays and treating teams; scheduling will register clinic appointments and referrals from its
wiring.py. A relationship of a kind nobody registered is refused, so the access log always says why."""

from __future__ import annotations

from epr.vocabularies import OpenVocabulary

CARE_RELATIONSHIP_KINDS = OpenVocabulary("care relationship kind", code_length=10)  # CareRelationship.kind


def register_care_relationship_kind(code: str, label: str) -> None:
    CARE_RELATIONSHIP_KINDS.register(code, label)


def care_relationship_kind_label(code: str) -> str:
    return CARE_RELATIONSHIP_KINDS.label(code)


def care_relationship_kinds() -> dict[str, str]:
    return CARE_RELATIONSHIP_KINDS.labels()
