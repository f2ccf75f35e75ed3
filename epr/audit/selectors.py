from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.urls import Resolver404, resolve
from django.utils import timezone

from epr.audit.models import Action, AuditEvent

ACCESS_LOG_PAGE_SIZE = 50

# What a person calls each page, by URL name. The names are the records app's; no import is needed
# (the path is resolved at run time), so the audit layer stays below the apps it describes.
PAGE_NAMES = {
    "patient_detail": "Patient record summary",
    "patient_edit": "Edit patient details",
    "patient_history": "History of the patient's details",
    "patient_rollback": "Roll back the patient's details",
    "patient_admit": "Admit patient",
    "patient_transfer": "Transfer patient",
    "patient_discharge": "Discharge patient",
    "patient_merge": "Merge records",
    "patient_link": "Link records",
    "patient_archive": "Archive record",
    "patient_access_log": "Who accessed this record",
    "break_glass": "Break-glass access",
    "observation_chart": "NEWS2 chart",
    "observations_record": "Record observations",
    "spo2_scale": "SpO2 scale",
    "note_list": "Clinical notes",
    "note_new": "Write a note",
    "note_edit": "Edit a draft note",
    "note_countersign": "Countersign a note",
    "note_amend": "Amend a note",
    "note_mark_error": "Note entered in error",
    "note_history": "Note history",
    "allergy_list": "Allergies",
    "allergy_new": "Record an allergy",
    "allergy_none_known": "No known allergies",
    "problem_list": "Problems",
    "problem_new": "Record a problem",
    "entry_amend": "Amend an entry",
    "entry_mark_error": "Entry entered in error",
    "careplan_list": "Care plans",
    "careplan_new": "New care plan",
    "careplan_edit": "Edit care plan",
    "careplan_review": "Care plan review",
    "careplan_error": "Care plan entered in error",
    "careplan_pdf": "Care plan PDF",
    "patient_timeline": "Timeline",
    "entry_history": "Entry as it was",
    "sar_patient_list": "Subject access requests",
    "sar_create": "Log a subject access request",
    "sar_detail": "Subject access request",
    "sar_redactions": "Subject access redactions",
    "sar_generate": "Subject access export",
    "sar_close": "Subject access request closed",
    "sar_download": "Subject access export download",
}

# When there is no page path (API calls, exports, background tasks): what the row's object is.
OBJECT_NAMES = {
    "records.Patient": "Patient details",
    "records.ObservationSet": "Observations",
    "records.AllergyIntolerance": "Allergy",
    "records.Problem": "Problem",
    "records.CarePlan": "Care plan",
    "records.ClinicalNote": "Clinical note",
    "records.Encounter": "Admission",
    "records.BreakGlassAccess": "Break-glass access",
    "records.SubjectAccessRequest": "Subject access request",
    "records.ClinicalAlert": "NEWS2 alert",
    "records.PatientMerge": "Merge",
    "records.PatientLink": "Record link",
}

# Lists and searches write one row per patient shown, the list named in the row's detail ("ward A1").
LIST_NAMES = {
    "my patients": "My patients list",
    "patient search": "Patient search",
    "possible duplicates": "Possible duplicates at registration",
    "alerts": "Alerts list",
    "break-glass review": "Break-glass review",
    "care plans overdue": "Care plans overdue list",
    "subject-access-requests": "Subject access requests list",
}


def _list_name(listing: str) -> str:
    if listing.startswith("ward "):
        return f"Ward list ({listing.removeprefix('ward ')})"
    return LIST_NAMES.get(listing, listing[:1].upper() + listing[1:])


# FHIR searches name their results in the audit detail; the key says which resource was searched.
FHIR_SEARCH_KEYS = {
    "patients": "Patient",
    "observations": "Observation",
    "allergies": "AllergyIntolerance",
    "problems": "Condition",
}
# Keyed by Action, looked up by an event's action (its plain value).
FHIR_VERBS: dict[str, str] = {
    Action.SEARCH: "search",
    Action.VIEW: "read",
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.DENIED: "refused",
}
FHIR_OBJECT_TYPES = {
    "records.Patient": "Patient",
    "records.ObservationSet": "Observation",
    "records.AllergyIntolerance": "AllergyIntolerance",
    "records.Problem": "Condition",
}


def audit_events_for_patients(patient_ids: Iterable[int]) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient_id__in=list(patient_ids)).order_by("-at", "-id")


def describe(event: AuditEvent) -> str:
    """A person's words for what the row looked at: "NEWS2 chart", "Care plan PDF", "FHIR Observation
    search". Never patient data: only the page, the kind of object and the channel."""
    if event.channel == "api":
        kind = FHIR_OBJECT_TYPES.get(event.object_type) or next(
            (name for key, name in FHIR_SEARCH_KEYS.items() if key in (event.detail or {})), ""
        )
        if kind:
            verb = FHIR_VERBS.get(event.action, event.get_action_display().lower())
            return f"FHIR {kind} {verb}"
        return "FHIR API"
    listing = (event.detail or {}).get("list")
    if isinstance(listing, str) and listing:
        return _list_name(listing)
    path = (event.detail or {}).get("path")
    if isinstance(path, str) and path:
        try:
            name = resolve(path).url_name
        except Resolver404:
            name = None
        if name in PAGE_NAMES:
            return PAGE_NAMES[name]
    thing = OBJECT_NAMES.get(event.object_type, "")
    if event.action == Action.EXPORT:
        if event.object_type == "records.CarePlan":
            return "Care plan PDF"
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
