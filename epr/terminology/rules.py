"""SNOMED CT identifier checks (SCTID: 6-18 digits, partition, Verhoeff check digit)."""

import re
import unicodedata
from collections.abc import Iterable

_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
CONCEPT_PARTITIONS = ("00", "10")


def verhoeff_valid(digits: str) -> bool:
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = _D[check][_P[i % 8][int(ch)]]
    return check == 0


def is_valid_concept_id(value: str) -> bool:
    """A SNOMED CT concept id: 6-18 digits, no leading zero, concept partition, Verhoeff check digit."""
    return (
        value.isdigit()
        and 6 <= len(value) <= 18
        and not value.startswith("0")
        and value[-3:-1] in CONCEPT_PARTITIONS
        and verhoeff_valid(value)
    )


def search_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


# SNOMED CT writes an abbreviation as a synonym "COPD - Chronic obstructive pulmonary disease":
# clinicians type either half, so each half is a term of its own too.
_ABBREVIATION = re.compile(r"^([A-Z][A-Za-z0-9]{0,9}) - (\S.*)$")
TERM_SEPARATOR = "|"


def term_keys(display: str, synonyms: Iterable[str] = ()) -> list[str]:
    """Search keys of a concept's terms, display first, without repeats."""
    keys: list[str] = []
    for term in (display, *synonyms):
        parts = [term]
        found = _ABBREVIATION.match(term.strip())
        if found and sum(c.isupper() for c in found.group(1)) >= 2:  # "COPD", "T2DM", not "Hip - ..."
            parts += [found.group(1), found.group(2)]
        for part in parts:
            key = search_key(part).replace(TERM_SEPARATOR, " ")
            if key and key not in keys:
                keys.append(key)
    return keys


def terms_search_key(display: str, synonyms: Iterable[str] = ()) -> str:
    """'|chronic obstructive lung disease|copd|...|': see Concept.search_key."""
    keys = term_keys(display, synonyms)
    return f"{TERM_SEPARATOR}{TERM_SEPARATOR.join(keys)}{TERM_SEPARATOR}" if keys else ""
