"""FHIR Observation search over ObservationSet: which sets hold the codes and categories asked for, in
SQL, and one page of the Observations they give, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import add, or_
from typing import Any

from django.db.models import Case, F, IntegerField, Q, Sum, Value, When, Window
from django.db.models.expressions import RowRange
from django.db.models.functions import Coalesce
from django.http import QueryDict

from epr.fhir.search import SearchPage, instant_q
from records.fhir.common import (
    RecordSearch,
    check_record_query,
    record_search_fields,
)
from records.fhir.observation_codes import (
    CATEGORY_SYSTEM,
    DIASTOLIC,
    ON_OXYGEN,
    PARAMETERS,
    ROOM_AIR,
    SNOMED,
    SYSTOLIC,
)
from records.fhir.observations import held_q, recorded_q
from records.models import ObservationSet

SEARCH_PARAMETERS = frozenset({"patient", "code", "category", "date", "_sort", "_count", "_offset"})


REPEATABLE = frozenset({"code", "category", "date"})


# What a code search token finds: the parameter, narrowed where one code means part of it.
_SEARCH_CODES: dict[tuple[str, str], tuple[str, Q]] = {
    **{(s, c): (key, held_q(key)) for key, p in PARAMETERS.items() for s, c, _ in p.codings},
    (SNOMED, "78564009"): ("hr", held_q("hr")),
    ROOM_AIR[:2]: ("o2", Q(on_oxygen=False)),
    ON_OXYGEN[:2]: ("o2", Q(on_oxygen=True)),
    **{(s, c): ("bp", recorded_q("systolic_bp")) for s, c, _ in SYSTOLIC},
    **{(s, c): ("bp", recorded_q("diastolic_bp")) for s, c, _ in DIASTOLIC},
}


Selection = dict[str, Q]  # parameter key -> the sets in which that Observation exists and matches


@dataclass(frozen=True, kw_only=True)
class ObservationSearch(RecordSearch):
    selection: Selection
    taken: Q


def _all_parameters() -> Selection:
    return {key: held_q(key) for key in PARAMETERS}


def _union(a: Selection, b: Selection) -> Selection:
    return {key: (a[key] | b[key]) if key in a and key in b else a.get(key, b.get(key)) for key in a | b}


def _both(a: Q, b: Q) -> Q:
    return a if a == b else a & b


def _intersection(a: Selection, b: Selection) -> Selection:
    return {key: _both(a[key], b[key]) for key in a if key in b}


def _code_token(token: str) -> Selection:
    system, bar, code = token.partition("|")
    if not bar:
        system, code = "", token
    found: Selection = {}
    for (s, c), (key, q) in _SEARCH_CODES.items():
        if (not system or s == system) and (not code or c == code):
            found = _union(found, {key: _both(held_q(key), q)})
    return found  # an unknown code finds nothing, as FHIR expects


def _category_token(token: str) -> Selection:
    system, bar, code = token.partition("|")
    if not bar:
        system, code = CATEGORY_SYSTEM, token
    if system not in ("", CATEGORY_SYSTEM):
        return {}
    return {key: held_q(key) for key, p in PARAMETERS.items() if p.category == code}


def _token_selection(values: list[str], parse: Any) -> Selection:
    """Each repeat of the parameter narrows (AND); commas inside one widen (OR)."""
    selection = _all_parameters()
    for value in values:
        alternatives: Selection = {}
        for token in value.split(","):
            alternatives = _union(alternatives, parse(token.strip()))
        selection = _intersection(selection, alternatives)
    return selection


def parse_search(query: QueryDict, *, patient_required: bool) -> ObservationSearch:
    """Check the query string of GET /Observation; unknown or wrongly repeated parameters are refused."""
    newest_first = check_record_query(
        query,
        SEARCH_PARAMETERS,
        REPEATABLE,
        patient_required=patient_required,
        what="observations",
        newest_first="newest first",
    )
    selection = _intersection(
        _token_selection(query.getlist("code"), _code_token),
        _token_selection(query.getlist("category"), _category_token),
    )
    taken = reduce(lambda a, b: a & b, (instant_q("taken_at", v) for v in query.getlist("date")), Q())
    return ObservationSearch(
        selection=selection, taken=taken, newest_first=newest_first, **record_search_fields(query)
    )


def _one_if(q: Q) -> Case:
    return Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())


# A page's items are Observations as (set, parameter key), in page order; its total counts
# Observations, not sets.
ObservationPage = SearchPage[tuple[ObservationSet, str]]


def search_page(search: ObservationSearch) -> ObservationPage:
    """One page of matching Observations in three queries, however many sets the patient has.

    Paging is by Observation, as FHIR's _count and _offset mean, but done on sets in SQL: each set's
    number of matching Observations is a sum of CASEs, and a running sum over the sort order (a window)
    says which sets hold Observations offset .. offset+count-1. The page of sets is expanded here.
    """
    if not search.selection:
        return SearchPage(total=0, items=[])
    sets = ObservationSet.objects.filter(search.taken).filter(reduce(or_, search.selection.values()))
    if search.patient_id is not None:
        sets = sets.filter(patient_id=search.patient_id)
    flags = {f"has_{key}": _one_if(q) for key, q in search.selection.items()}
    # Starting from 0 keeps the sum a different expression from a lone flag: the window query that
    # Django wraps around the page would otherwise select the two as one column.
    matches = reduce(add, flags.values(), Value(0))
    total = sets.aggregate(total=Coalesce(Sum(matches), 0))["total"]
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    order = ("-taken_at", "-pk") if search.newest_first else ("taken_at", "pk")
    window_order = [F(name[1:]).desc() if name.startswith("-") else F(name).asc() for name in order]
    page = (
        sets.select_related("recorded_by")
        .annotate(
            **flags,
            matches=matches,
            # Matching Observations in this set and every set before it in the sort order.
            through=Window(Sum(matches), order_by=window_order, frame=RowRange(start=None, end=0)),
        )
        .filter(through__gt=search.offset, through__lt=search.offset + search.count + F("matches"))
        .order_by(*order)
    )
    resources = []
    for obs in page:
        keys = [key for key in PARAMETERS if getattr(obs, f"has_{key}", 0)]
        first = obs.through - obs.matches  # the position of this set's first Observation in the results
        for position, key in enumerate(keys, start=first):
            if search.offset <= position < search.offset + search.count:
                resources.append((obs, key))
    return SearchPage(total=total, items=resources)
