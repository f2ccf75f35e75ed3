"""FHIR search of AllergyIntolerance and Condition: the token, date and status parameters each resource
takes, as SQL, and one page of matching entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from epr.fhir.search import SearchPage, date_range, instant_q
from records.fhir.clinical import (
    ALLERGY_CATEGORY,
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    ICD10,
    PROBLEM_LIST_ITEM,
    SNOMED,
)
from records.fhir.common import (
    RecordSearch,
    check_record_query,
    record_search_fields,
)
from records.models import (
    ENTERED_IN_ERROR,
    EntryStatus,
)

NOTHING = Q(pk__in=[])


TokenQ = Callable[[str], Q]  # a code (or, with no system, the whole token) -> the rows it finds


@dataclass(frozen=True, kw_only=True)
class ClinicalSearch(RecordSearch):
    where: Q


@dataclass(frozen=True)
class SearchSpec:
    """What one resource type's search understands: token parameters (with their code system, and
    a Q for a code) and date parameters (with the column they filter)."""

    resource_type: str
    tokens: dict[str, tuple[str | None, TokenQ]]
    instants: dict[str, str]  # parameter -> DateTimeField
    days: dict[str, str] = field(default_factory=dict)  # parameter -> DateField

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset({"patient", "_sort", "_count", "_offset", *self.tokens, *self.instants, *self.days})

    @property
    def repeatable(self) -> frozenset[str]:
        return frozenset({*self.tokens, *self.instants, *self.days})


def _token_q(token: str, system: str | None, to_q: TokenQ) -> Q:
    """A token as system|code, |code or code; a code of another system finds nothing. A parameter
    of more than one system (system None) is given the whole token."""
    sent_system, bar, code = token.partition("|")
    if not bar:
        sent_system, code = "", token
    if system is not None and sent_system not in ("", system):
        return NOTHING
    return to_q(code) if system is not None else to_q(token)


def _tokens_q(values: list[str], system: str | None, to_q: TokenQ) -> Q:
    """Each repeat of the parameter narrows (AND); commas inside one widen (OR)."""
    return reduce(
        and_,
        (reduce(or_, (_token_q(t.strip(), system, to_q) for t in value.split(","))) for value in values),
        Q(),
    )


def _day_q(column: str, raw: str) -> Q:
    """A date column against the London days the searched range touches."""
    prefix, start, end = date_range(raw)
    first = timezone.localtime(start).date()
    after = timezone.localtime(end - timedelta(microseconds=1)).date() + timedelta(days=1)
    return {
        "eq": Q(**{f"{column}__gte": first, f"{column}__lt": after}),
        "ge": Q(**{f"{column}__gte": first}),
        "gt": Q(**{f"{column}__gte": after}),
        "le": Q(**{f"{column}__lt": after}),
        "lt": Q(**{f"{column}__lt": first}),
    }[prefix]


def parse_search(query: QueryDict, spec: SearchSpec, *, patient_required: bool) -> ClinicalSearch:
    """Check the query string; unknown or wrongly repeated parameters are refused."""
    newest_first = check_record_query(
        query,
        spec.parameters,
        spec.repeatable,
        patient_required=patient_required,
        what=f"the {spec.resource_type} resources",
        newest_first="most recently recorded first",
    )
    where = [_tokens_q(query.getlist(name), system, to_q) for name, (system, to_q) in spec.tokens.items()]
    where += [instant_q(column, v) for name, column in spec.instants.items() for v in query.getlist(name)]
    where += [_day_q(column, v) for name, column in spec.days.items() for v in query.getlist(name)]
    return ClinicalSearch(
        where=reduce(and_, where, Q()), newest_first=newest_first, **record_search_fields(query)
    )


def _final(**kwargs: str) -> Q:
    return Q(status=EntryStatus.FINAL, **kwargs)


def _verification_q(code: str) -> Q:
    return Q(status=EntryStatus.ENTERED_IN_ERROR) if code == ENTERED_IN_ERROR else _final(verification=code)


def _allergy_code_q(code: str) -> Q:
    return Q(substance_code=code) if code else ~Q(substance_code="")


def _condition_code_q(token: str) -> Q:
    """SNOMED CT or ICD-10: the whole token, as the system decides the column."""
    system, bar, code = token.partition("|")
    if not bar:
        return Q(snomed_code=token) | Q(icd10_code=token)
    column = {SNOMED: "snomed_code", ICD10: "icd10_code"}.get(system)
    if column is None:
        return NOTHING
    return Q(**{column: code}) if code else ~Q(**{column: ""})


ALLERGY_SEARCH = SearchSpec(
    resource_type="AllergyIntolerance",
    tokens={
        "code": (SNOMED, _allergy_code_q),
        "category": (ALLERGY_CATEGORY, lambda code: Q(category=code)),
        "clinical-status": (ALLERGY_CLINICAL, lambda code: _final(clinical_status=code)),
        "verification-status": (ALLERGY_VERIFICATION, _verification_q),
    },
    instants={"date": "recorded_at"},
)


CONDITION_SEARCH = SearchSpec(
    resource_type="Condition",
    tokens={
        "code": (None, _condition_code_q),
        "category": (CONDITION_CATEGORY, lambda code: Q() if code == PROBLEM_LIST_ITEM else NOTHING),
        "clinical-status": (CONDITION_CLINICAL, lambda code: _final(clinical_status=code)),
        "verification-status": (CONDITION_VERIFICATION, _verification_q),
    },
    instants={"date": "recorded_at", "recorded-date": "recorded_at"},
    days={"onset-date": "onset_date"},
)


def search_page(model: type[Model], search: ClinicalSearch) -> SearchPage[Any]:
    """One page of matching rows in two queries (a count, then the page), however many there are."""
    queryset: QuerySet = model._default_manager.filter(search.where)
    if search.patient_id is not None:
        queryset = queryset.filter(patient_id=search.patient_id)
    total = queryset.count()
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    order = ("-recorded_at", "-pk") if search.newest_first else ("recorded_at", "pk")
    rows = list(
        queryset.select_related("recorded_by").order_by(*order)[search.offset : search.offset + search.count]
    )
    return SearchPage(total=total, items=rows)
