"""FHIR R4 Location (UK Core shape): the trust's sites, wards, bays and beds (records' locations) and
the places clinics are held, each a Location whose id names its kind and row ("ward-3", "bed-5").

A bed's operationalStatus is the bed board's: occupied while a ward stay holds it (records' WardStay),
else its scheduling BedState (no row: free). HL7 v2 table 0116 has no "blocked", so a blocked bed is
sent Closed (C) with "Blocked" as its description. Locations hold no patient data. A search page is a
constant number of queries: a count and at most one page query per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict

from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, codeable_concept
from epr.fhir.search import SearchPage
from records.models import Bay, Bed, Site, Ward, WardStay
from scheduling.fhir import (
    DEFAULT_COUNT,
    LOCATION_KINDS,
    MAX_COUNT,
    NOTHING,
    Search,
    checked_query,
    location_param,
    location_reference,
    parse_location_id,
    service_provider,
    tokens_q,
    trust_system,
)
from scheduling.models import BedCondition, Clinic, SessionKind

PROFILE = f"{UK_CORE}UKCore-Location"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
ODS_SITE_SYSTEM = "https://fhir.nhs.uk/Id/ods-site-code"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

PHYSICAL = {
    "site": ("si", "Site"),
    "ward": ("wa", "Ward"),
    "bay": ("ro", "Room"),
    "bed": ("bd", "Bed"),
    "clinic": ("ro", "Room"),
}
OCCUPIED = ("O", "Occupied")
FREE = ("U", "Unoccupied")
CLEANING = ("H", "Housekeeping")
CLOSED = ("C", "Closed")
BED_STATUSES = {
    BedCondition.AVAILABLE: FREE,
    BedCondition.CLEANING: CLEANING,
    BedCondition.BLOCKED: CLOSED,
    BedCondition.CLOSED: CLOSED,
}

CAPABILITY = Capability(
    profile=PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam(
            "partof", "reference", "Location/<id>: the sites' wards and clinics, a ward's bays and beds"
        ),
        SearchParam("physical-type", "token", f"{PHYSICAL_TYPE}|si, wa, ro (bays, clinics' places) or bd"),
        SearchParam(
            "operational-status",
            "token",
            f"Beds by {BED_STATUS}|O (occupied), U (free), H (awaiting cleaning) or C (blocked or closed)",
        ),
        SearchParam("name", "string", "Part of the name, any case (a bed by its label)"),
        SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
        SearchParam("_offset", "number", "Index of the first result on the page"),
    ),
)


# --- The resource ---------------------------------------------------------------------------------


def _physical(kind: str) -> dict[str, Any]:
    return codeable_concept((PHYSICAL_TYPE, *PHYSICAL[kind]))


def _base(kind: str, pk: int, name: str, *, active: bool = True) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": f"{kind}-{pk}",
        "meta": {"profile": [PROFILE]},
        "status": "active" if active else "inactive",
        "name": name,
        "mode": "instance",
        "physicalType": _physical(kind),
        "managingOrganization": service_provider(),
    }


def site_entry(site: Site) -> dict[str, Any]:
    return {
        **_base("site", site.pk, site.name),
        "identifier": [{"system": ODS_SITE_SYSTEM, "value": site.code}],
        "type": [codeable_concept((ROLE_CODE, "HOSP", "Hospital"))],
    }


def ward_entry(ward: Ward) -> dict[str, Any]:
    return {
        **_base("ward", ward.pk, ward.name, active=ward.active),
        "identifier": [{"system": trust_system("ward"), "value": ward.code}],
        "partOf": location_reference("site", ward.site_id, ward.site.name),
    }


def bay_entry(bay: Bay) -> dict[str, Any]:
    return {
        **_base("bay", bay.pk, bay.name),
        "description": f"{bay.ward.name}, {bay.name}",
        "partOf": location_reference("ward", bay.ward_id, bay.ward.name),
    }


def bed_status(bed: Bed) -> tuple[str, str]:
    """The bed board's state of the bed as a v2-0116 code: occupied wins over the bed's own state."""
    if getattr(bed, "occupied", False):
        return OCCUPIED
    state = getattr(bed, "board_state", None)
    return BED_STATUSES.get(state.condition, FREE) if state is not None else FREE


def _bed_description(bed: Bed) -> str:
    state = getattr(bed, "board_state", None)
    blocked = not getattr(bed, "occupied", False) and state and state.condition == BedCondition.BLOCKED
    return f"{bed.ward.name}, {bed}" + (" (Blocked)" if blocked else "")


def bed_entry(bed: Bed) -> dict[str, Any]:
    """A bed from beds(): annotated with occupied, its BedState selected."""
    code, display = bed_status(bed)
    parent = (
        location_reference("bay", bed.bay.pk, bed.bay.name)
        if bed.bay is not None
        else location_reference("ward", bed.ward_id, bed.ward.name)
    )
    return {
        **_base("bed", bed.pk, str(bed), active=bed.active),
        "operationalStatus": {"system": BED_STATUS, "code": code, "display": display},
        "description": _bed_description(bed),
        "partOf": parent,
    }


def clinic_entry(clinic: Clinic) -> dict[str, Any]:
    """The place a clinic is held: its site's part (the clinic's own location text, if any)."""
    kind = "Theatre" if clinic.kind == SessionKind.THEATRE else "Outpatient clinic"
    return {
        **_base("clinic", clinic.pk, clinic.name, active=clinic.active),
        "identifier": [{"system": trust_system("clinic-code"), "value": clinic.code}],
        "description": clinic.location or None,
        "type": [{"text": kind}],
        "partOf": location_reference("site", clinic.site_id, clinic.site.name),
    }


# --- The rows of each kind ------------------------------------------------------------------------


def beds() -> QuerySet[Bed]:
    current = WardStay.objects.filter(bed=OuterRef("pk"), ended_at__isnull=True)
    return Bed.objects.select_related("ward", "bay", "board_state").annotate(occupied=Exists(current))


@dataclass(frozen=True)
class Kind:
    rows: Callable[[], QuerySet[Any]]
    entry: Callable[[Any], dict[str, Any]]
    name_column: str
    parents: dict[str, str]  # the kind of a parent -> the column holding it


KINDS: dict[str, Kind] = {
    "site": Kind(lambda: Site.objects.all(), site_entry, "name", {}),
    "ward": Kind(lambda: Ward.objects.select_related("site"), ward_entry, "name", {"site": "site_id"}),
    "bay": Kind(lambda: Bay.objects.select_related("ward"), bay_entry, "name", {"ward": "ward_id"}),
    "bed": Kind(beds, bed_entry, "label", {"bay": "bay_id", "ward": "ward_id"}),
    "clinic": Kind(lambda: Clinic.objects.select_related("site"), clinic_entry, "name", {"site": "site_id"}),
}


def location_row(location_id: str) -> tuple[str, Any] | None:
    """(kind, row) of a Location id, or None."""
    parsed = parse_location_id(location_id)
    if parsed is None:
        return None
    kind, pk = parsed
    row = KINDS[kind].rows().filter(pk=pk).first()
    return (kind, row) if row is not None else None


def location_entry(kind: str, row: Any) -> dict[str, Any]:
    return KINDS[kind].entry(row)


# --- Search ---------------------------------------------------------------------------------------


def _status_q(code: str) -> Q:
    """Beds (annotated with occupied) in a v2-0116 state."""
    conditions = [condition for condition, status in BED_STATUSES.items() if status[0] == code]
    if code == OCCUPIED[0]:
        return Q(occupied=True)
    if not conditions:
        return NOTHING
    by_state = Q(board_state__condition__in=conditions)
    if code == FREE[0]:
        by_state |= Q(board_state__isnull=True)
    return Q(occupied=False) & by_state


def _partof_q(kind: str, query: QueryDict) -> Q:
    parent_kind, parent_pk = location_param(str(query["partof"]), "partof")
    column = KINDS[kind].parents.get(parent_kind)
    if column is None:
        return NOTHING
    if kind == "bed" and parent_kind == "ward":
        return Q(ward_id=parent_pk, bay__isnull=True)  # a bed in a bay is part of its bay
    return Q(**{column: parent_pk})


def _kind_q(kind: str, query: QueryDict) -> Q:
    """What this kind's rows must match; NOTHING where the kind cannot match at all."""
    where = Q()
    if "physical-type" in query:
        code = PHYSICAL[kind][0]
        where &= tokens_q(
            query.getlist("physical-type"), PHYSICAL_TYPE, lambda c: Q() if c == code else NOTHING
        )
    if "operational-status" in query:
        values = query.getlist("operational-status")
        where &= tokens_q(values, BED_STATUS, _status_q) if kind == "bed" else NOTHING
    if "partof" in query:
        where &= _partof_q(kind, query)
    if "name" in query:
        where &= Q(**{f"{KINDS[kind].name_column}__icontains": str(query["name"])})
    return where


@dataclass(frozen=True, kw_only=True)
class LocationSearch(Search):
    by_kind: dict[str, Q]


def parse_search(query: QueryDict) -> LocationSearch:
    count, offset, params = checked_query(
        query,
        {"partof", "physical-type", "operational-status", "name"},
        repeatable={"physical-type", "operational-status"},
    )
    by_kind = {kind: _kind_q(kind, query) for kind in LOCATION_KINDS}
    return LocationSearch(where=Q(), by_kind=by_kind, count=count, offset=offset, params=params)


def _matching(search: LocationSearch) -> list[tuple[str, QuerySet[Any]]]:
    """Each kind that can match, with its rows, in the Bundle's order (sites first, clinics last)."""
    return [
        (kind, KINDS[kind].rows().filter(where).order_by("pk"))
        for kind, where in search.by_kind.items()
        if where != NOTHING
    ]


def location_page(search: LocationSearch) -> SearchPage[tuple[str, Any]]:
    """One page across the kinds: a count per kind, then the rows of the kinds the page spans."""
    matching = [(kind, rows, rows.count()) for kind, rows in _matching(search)]
    total = sum(count for _, _, count in matching)
    items: list[tuple[str, Any]] = []
    start, end, before = search.offset, search.offset + search.count, 0
    for kind, rows, count in matching:
        low, high = max(start - before, 0), min(end - before, count)
        if low < high:
            items += [(kind, row) for row in rows[low:high]]
        before += count
    return SearchPage(total=total, items=items)
