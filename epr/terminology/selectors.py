from __future__ import annotations

from django.db.models import QuerySet

from epr.terminology.models import CodeSystem, Concept, ConceptMap
from epr.terminology.rules import search_key


def concept_search(
    *, text: str, system: str = CodeSystem.SNOMED, subset: str = "", limit: int = 20
) -> QuerySet[Concept]:
    queryset = Concept.objects.filter(system=system, active=True)
    if subset:
        queryset = queryset.filter(subsets__contains=[subset])
    for word in search_key(text).split():
        queryset = queryset.filter(search_key__contains=word)
    return queryset.order_by("display")[:limit]


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
