"""Finding medicines to prescribe, with their formulary status and order sentences."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from prescribing.models import VMP

SEARCH_MIN_LENGTH = 3


def medicine_matches(text: str, limit: int = 30) -> list[VMP]:
    """Products whose name holds every word typed (any order), formulary ones first."""
    words = text.split()
    if len(text.strip()) < SEARCH_MIN_LENGTH:
        return []
    query = Q()
    for word in words[:6]:
        query &= Q(name__icontains=word)
    found: QuerySet[VMP] = (
        VMP.objects.filter(query, invalid=False).select_related("formulary").order_by("name")[: limit * 3]
    )
    ranked = sorted(found, key=lambda v: (_formulary_rank(v), v.name))
    return ranked[:limit]


def _formulary_rank(vmp: VMP) -> int:
    entry = getattr(vmp, "formulary", None)
    if entry is None:
        return 1
    return {"formulary": 0, "restricted": 1}.get(entry.status, 2)


def medicine_to_prescribe(vmp_id: int) -> VMP:
    return (
        VMP.objects.select_related("vtm", "formulary")
        .prefetch_related("order_sentences", "ingredients__ingredient")
        .get(pk=vmp_id, invalid=False)
    )
