"""FHIR Patient search: by identifier, name, birth date, gender and postcode, refused when too broad to
be a lookup of one person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.http import QueryDict

from epr.fhir.errors import FHIRError, invalid_value
from epr.fhir.search import check_parameters, paging
from records.fhir.patients import DEFAULT_COUNT, MAX_COUNT, NHS_NUMBER_SYSTEM, hospital_number_system
from records.models import Patient
from records.rules import patients as rules
from records.selectors.patients import patient_search_queryset

SEARCH_PARAMETERS = frozenset({"identifier", "family", "given", "birthdate", "_count", "_offset"})


@dataclass(frozen=True)
class PatientSearch:
    nhs_number: str = ""
    hospital_number: str = ""
    family: str = ""
    given: str = ""
    birthdate: date | None = None
    count: int = DEFAULT_COUNT
    offset: int = 0
    # The search parameters as sent (without paging), for the Bundle's paging links.
    params: dict[str, str] = field(default_factory=dict)

    @property
    def criteria(self) -> list[str]:
        return sorted(
            k for k in ("nhs_number", "hospital_number", "family", "given", "birthdate") if getattr(self, k)
        )


def _identifier(raw: str) -> dict[str, str]:
    system, bar, value = raw.partition("|")
    if not bar or not value.strip():
        raise invalid_value(
            f"Give identifier as system|value, e.g. {NHS_NUMBER_SYSTEM}|9434765919.", "identifier"
        )
    if system == NHS_NUMBER_SYSTEM:
        return {"nhs_number": value}
    if system == hospital_number_system():
        return {"hospital_number": value}
    raise invalid_value(
        f"Identifier system must be {NHS_NUMBER_SYSTEM} or {hospital_number_system()}.", "identifier"
    )


def _birthdate(raw: str) -> date:
    value = raw.removeprefix("eq")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise invalid_value(
            "birthdate must be an exact date, YYYY-MM-DD (prefix eq allowed).", "birthdate"
        ) from exc


def parse_search(query: QueryDict) -> PatientSearch:
    """Check the query string of GET /Patient; unknown or repeated parameters are refused."""
    check_parameters(query, SEARCH_PARAMETERS)
    params: dict[str, str] = {k: str(query[k]) for k in query if not k.startswith("_")}
    identifier = _identifier(params["identifier"]) if "identifier" in params else {}
    birthdate = _birthdate(params["birthdate"]) if "birthdate" in params else None
    count, offset = paging(query, DEFAULT_COUNT, MAX_COUNT)
    search = PatientSearch(
        **identifier,
        family=params.get("family", "").strip(),
        given=params.get("given", "").strip(),
        birthdate=birthdate,
        count=count,
        offset=offset,
        params=params,
    )
    _check_narrow_enough(search)
    return search


def _check_narrow_enough(search: PatientSearch) -> None:
    # As on the search page: no listing the whole index, and no one- or two-letter name scans.
    if search.nhs_number or search.hospital_number:
        return
    letters = len(rules.search_key(f"{search.family}{search.given}").replace(" ", ""))
    if not letters:
        raise FHIRError("Search by identifier, or by family or given name (with birthdate if you have it).")
    if letters < 3 and search.birthdate is None:
        raise FHIRError("Give at least 3 letters of the name, or add the birthdate.")


def search_queryset(search: PatientSearch) -> QuerySet[Patient]:
    """Active patients matching the search, in a stable order (name, then id)."""
    queryset = patient_search_queryset(
        nhs_number=search.nhs_number,
        hospital_number=search.hospital_number,
        date_of_birth=search.birthdate,
    )
    # FHIR's family and given each match their own part of the name, so narrow on that part's key.
    for fragment in rules.search_key(search.family).split():
        queryset = queryset.filter(family_name_key__contains=fragment)
    for fragment in rules.search_key(search.given).split():
        queryset = queryset.filter(given_names_key__contains=fragment)
    return queryset
