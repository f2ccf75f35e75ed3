from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import Resolver404, resolve
from django.utils import timezone

from epr.audit.actions import audit_action_label
from epr.audit.models import Action, AuditEvent

ACCESS_LOG_PAGE_SIZE = 50


@dataclass
class AccessLogNames:
    """What a person calls what an audit row looked at, registered by each app (records.wiring):

    pages: view name ("records:observation_chart") to "NEWS2 chart";
    objects: model label to "Care plan", used when a row has no page (API calls, exports, tasks);
    exports: model label to the name of its export, when not "<object> export";
    lists: a list's name in the row's detail to "Patient search"; a prefix ending in a space
      ("ward ") names a family of lists, shown as "Ward list (A1)" with its words in lists;
    fhir_search_keys: the detail key a FHIR search names its results by, to the resource type;
    fhir_object_types: model label to the FHIR resource type that reads or writes it."""

    pages: dict[str, str] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)
    exports: dict[str, str] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)
    list_families: dict[str, str] = field(default_factory=dict)
    fhir_search_keys: dict[str, str] = field(default_factory=dict)
    fhir_object_types: dict[str, str] = field(default_factory=dict)


_names = AccessLogNames()


def register_access_log_names(names: AccessLogNames) -> None:
    for part in fields(AccessLogNames):
        getattr(_names, part.name).update(getattr(names, part.name))


def _list_name(listing: str) -> str:
    for prefix, label in _names.list_families.items():
        if listing.startswith(prefix):
            return f"{label} ({listing.removeprefix(prefix)})"
    return _names.lists.get(listing, listing[:1].upper() + listing[1:])


# Keyed by Action, looked up by an event's action (its plain value).
FHIR_VERBS: dict[str, str] = {
    Action.SEARCH: "search",
    Action.VIEW: "read",
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.DENIED: "refused",
}


def audit_events_for_patients(patient_ids: Iterable[int]) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient_id__in=list(patient_ids)).order_by("-at", "-id")


def describe(event: AuditEvent) -> str:
    """A person's words for what the row looked at: "NEWS2 chart", "Care plan PDF", "FHIR Observation
    search". Never patient data: only the page, the kind of object and the channel."""
    if event.channel == "api":
        kind = _names.fhir_object_types.get(event.object_type) or next(
            (name for key, name in _names.fhir_search_keys.items() if key in (event.detail or {})), ""
        )
        if kind:
            verb = FHIR_VERBS.get(event.action, audit_action_label(event.action).lower())
            return f"FHIR {kind} {verb}"
        return "FHIR API"
    listing = (event.detail or {}).get("list")
    if isinstance(listing, str) and listing:
        return _list_name(listing)
    path = (event.detail or {}).get("path")
    if isinstance(path, str) and path:
        try:
            name = resolve(path).view_name
        except Resolver404:
            name = None
        if name in _names.pages:
            return _names.pages[name]
    thing = _names.objects.get(event.object_type, "")
    if event.action == Action.EXPORT:
        if event.object_type in _names.exports:
            return _names.exports[event.object_type]
        download = (event.detail or {}).get("download")
        return f"{thing or 'Record'} export" + (f" ({str(download).upper()})" if download else "")
    return thing or "Record"


@dataclass(frozen=True)
class AccessLogFilter:
    username: str = ""
    action: str = ""
    on: date | None = None


@dataclass(frozen=True)
class AccessLogRow:
    event: AuditEvent
    description: str


@dataclass(frozen=True)
class AccessLogPage:
    page: Page[AuditEvent]
    rows: list[AccessLogRow]


def access_log_page(
    patient_ids: Iterable[int], *, filters: AccessLogFilter, page_number: int = 1
) -> AccessLogPage:
    """One page (50 rows) of who accessed these records, filtered; two queries whatever the page."""
    ids = list(patient_ids)
    events = audit_events_for_patients(ids)
    if filters.username:
        events = events.filter(username=filters.username)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.on is not None:
        start = timezone.make_aware(datetime.combine(filters.on, time.min))
        events = events.filter(at__gte=start, at__lt=start + timedelta(days=1))
    page = Paginator(events, ACCESS_LOG_PAGE_SIZE).get_page(page_number)
    rows = [AccessLogRow(event=e, description=describe(e)) for e in page.object_list]
    return AccessLogPage(page=page, rows=rows)


def access_log_usernames(patient_ids: Iterable[int]) -> list[str]:
    """Everyone who appears in these records' log, for the filter; one query."""
    return list(
        AuditEvent.objects.filter(patient_id__in=list(patient_ids))
        .exclude(username="")
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )
