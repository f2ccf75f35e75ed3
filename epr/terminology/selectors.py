from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.functions import Length

from epr.terminology.models import CodeSystem, Concept, ConceptMap
from epr.terminology.rules import TERM_SEPARATOR, search_key, term_keys

SEARCH_MIN_LENGTH = 2

# Rank of a concept for what was typed: a term equal to it (display, synonym or abbreviation), then a
# term starting with it, then a word of a term starting with it, then the words anywhere.
EXACT, PREFIX, WORD_PREFIX, CONTAINS = range(4)


def concept_search(
    *, text: str, system: str = CodeSystem.SNOMED, subset: str = "", limit: int = 20
) -> QuerySet[Concept]:
    """Active concepts whose terms hold every word typed, best match first (see EXACT..CONTAINS);
    ties by the shorter, then alphabetical, display."""
    queryset = Concept.objects.filter(system=system, active=True)
    if subset:
        queryset = queryset.filter(subsets__contains=[subset])
    typed = search_key(text).replace(TERM_SEPARATOR, " ")
    words = typed.split()
    if not words:
        return queryset.none()
    for word in words:
        queryset = queryset.filter(search_key__contains=word)
    typed = " ".join(words)
    rank = Case(
        When(search_key__contains=f"{TERM_SEPARATOR}{typed}{TERM_SEPARATOR}", then=Value(EXACT)),
        When(search_key__contains=f"{TERM_SEPARATOR}{typed}", then=Value(PREFIX)),
        When(search_key__contains=f" {typed}", then=Value(WORD_PREFIX)),
        When(search_key__contains=f"-{typed}", then=Value(WORD_PREFIX)),
        default=Value(CONTAINS),
        output_field=IntegerField(),
    )
    return queryset.annotate(rank=rank).order_by("rank", Length("display"), "display", "code")[:limit]


@dataclass(frozen=True)
class ConceptMatch:
    """A concept as the picker lists it: with the synonym that matched when the display did not."""

    code: str
    display: str
    synonym: str = ""

    @property
    def label(self) -> str:
        return f"{self.display} ({self.code})"


def matched_synonym(found: Concept, text: str) -> str:
    """The synonym a search found the concept by, when its display alone does not hold every word."""
    words = search_key(text).split()
    if all(w in search_key(found.display) for w in words):
        return ""
    synonyms: list[str] = getattr(found, "synonyms", None) or []
    for synonym in synonyms:
        keys = term_keys(synonym)
        if any(all(w in key for w in words) for key in keys):
            return synonym
    return ""


def concept_matches(*, text: str, subset: str = "", limit: int = 20) -> list[ConceptMatch]:
    """The picker's options for a search: none until SEARCH_MIN_LENGTH characters are typed."""
    if len(text.strip()) < SEARCH_MIN_LENGTH:
        return []
    return [
        ConceptMatch(c.code, c.display, matched_synonym(c, text))
        for c in concept_search(text=text, subset=subset, limit=limit)
    ]


def concept(system: str, code: str) -> Concept | None:
    return Concept.objects.filter(system=system, code=code).first()


def icd10_for_snomed(code: str) -> Concept | None:
    target = (
        ConceptMap.objects.filter(snomed_code=code)
        .order_by("priority")
        .values_list("icd10_code", flat=True)
        .first()
    )
    return concept(CodeSystem.ICD10, target) if target else None
