"""FHIR R4 Schedule, Slot and Appointment (UK Core shapes) from scheduling's clinics.

A Schedule is a clinic (its id the Clinic's): its actors are the clinic's place (Location/clinic-<id>)
and its consultant (a logical Practitioner: there is no Practitioner resource). A Slot is a slot of one
of the clinic's sessions; a slot of a cancelled session is busy-unavailable whatever its row says. An
Appointment books one slot; its actors are the patient and the clinic's place, so `actor` searches by
Patient/<id> or Location/clinic-<id> (or Location/site-<id>: every clinic at the site). Slot types are
the trust's own codes (serviceType), the same on Slot and Appointment. Each search page is a constant
number of queries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from epr.fhir.errors import invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, instant
from epr.fhir.search import SearchPage, instant_q
from records.fhir.common import patient_id_param
from scheduling.fhir import (
    DEFAULT_COUNT,
    MAX_COUNT,
    NOTHING,
    Search,
    checked_query,
    location_param,
    location_reference,
    reference_pk,
    sort_newest_first,
    tokens_q,
    trust_system,
)
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Clinic,
    SessionStatus,
    Slot,
    SlotStatus,
    SlotType,
)

SCHEDULE_PROFILE = f"{UK_CORE}UKCore-Schedule"
SLOT_PROFILE = f"{UK_CORE}UKCore-Slot"
APPOINTMENT_PROFILE = f"{UK_CORE}UKCore-Appointment"
SLOT_STATUS = "http://hl7.org/fhir/slotstatus"
APPOINTMENT_STATUS = "http://hl7.org/fhir/appointmentstatus"
# UK Core's specialty codes are the NHS treatment function codes a clinic's specialty already is (sent
# without a display: our labels are not the code system's words).
PRACTICE_SETTING = "https://fhir.hl7.org.uk/CodeSystem/UKCore-PracticeSettingCode"


def slot_type_system() -> str:
    return trust_system("slot-type")


PAGING = (
    SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
    SearchParam("_offset", "number", "Index of the first result on the page"),
)

SCHEDULE_CAPABILITY = Capability(
    profile=SCHEDULE_PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("actor", "reference", "Location/clinic-<id> (the clinic's place) or Location/site-<id>"),
        SearchParam("active", "token", "true or false"),
        SearchParam(
            "identifier", "token", f"The clinic's code: {trust_system('clinic-code')}|<code> or <code>"
        ),
        *PAGING,
    ),
)

SLOT_CAPABILITY = Capability(
    profile=SLOT_PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("schedule", "reference", "Schedule/<id> or <id> (a clinic)"),
        SearchParam("start", "date", "When the slot starts, with ge, le, gt, lt or eq; repeat for a range"),
        SearchParam("status", "token", "free, busy (booked) or busy-unavailable"),
        SearchParam(
            "service-type",
            "token",
            f"{slot_type_system()}|<type>: {', '.join(SlotType.values)}",
        ),
        *PAGING,
    ),
)

APPOINTMENT_CAPABILITY = Capability(
    profile=APPOINTMENT_PROFILE,
    interactions=("read", "search-type", "create"),
    search_params=(
        SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff"),
        SearchParam(
            "date", "date", "When the appointment starts, with ge, le, gt, lt or eq; repeat for a range"
        ),
        SearchParam("status", "token", "booked, arrived, fulfilled, noshow or cancelled"),
        SearchParam(
            "actor",
            "reference",
            "Patient/<id>, Location/clinic-<id> (a clinic) or Location/site-<id> (its clinics)",
        ),
        SearchParam("_sort", "string", "date (earliest first, the default) or -date"),
        *PAGING,
    ),
)


# --- Schedule -------------------------------------------------------------------------------------


def specialty(clinic: Clinic) -> list[dict[str, Any]]:
    return [
        {
            "coding": [{"system": PRACTICE_SETTING, "code": clinic.specialty}],
            "text": clinic.get_specialty_display(),
        }
    ]


def _consultant(clinic: Clinic) -> dict[str, str]:
    return {"type": "Practitioner", "display": clinic.consultant.get_full_name() or str(clinic.consultant)}


def schedule_entry(clinic: Clinic) -> dict[str, Any]:
    """The clinic, from clinics()."""
    return {
        "resourceType": "Schedule",
        "id": str(clinic.pk),
        "meta": {"profile": [SCHEDULE_PROFILE]},
        "identifier": [{"system": trust_system("clinic-code"), "value": clinic.code}],
        "active": clinic.active,
        "specialty": specialty(clinic),
        "actor": [location_reference("clinic", clinic.pk, clinic.name), _consultant(clinic)],
        "comment": clinic.name,
    }


def clinics() -> QuerySet[Clinic]:
    return Clinic.objects.select_related("consultant", "site")


def _actor_clinic_q(raw: str, prefix: str = "") -> Q:
    """Rows of the clinic (or the site's clinics) a Location reference names."""
    kind, pk = location_param(raw, "actor")
    if kind == "clinic":
        return Q(**{f"{prefix}pk": pk})
    if kind == "site":
        return Q(**{f"{prefix}site_id": pk})
    return NOTHING


def _bool_q(code: str) -> Q:
    return {"true": Q(active=True), "false": Q(active=False)}.get(code, NOTHING)


def parse_schedule_search(query: QueryDict) -> Search:
    count, offset, params = checked_query(query, {"actor", "active", "identifier"})
    where = Q()
    if "actor" in query:
        where &= _actor_clinic_q(str(query["actor"]))
    if "active" in query:
        where &= tokens_q(query.getlist("active"), None, _bool_q)
    if "identifier" in query:
        where &= tokens_q(query.getlist("identifier"), trust_system("clinic-code"), lambda c: Q(code=c))
    return Search(where=where, count=count, offset=offset, params=params)


def schedule_page(search: Search) -> SearchPage[Clinic]:
    rows = clinics().filter(search.where)
    total = rows.count()
    items = list(rows.order_by("name", "pk")[search.offset : search.offset + search.count]) if total else []
    return SearchPage(total=total, items=items)


# --- Slot -----------------------------------------------------------------------------------------


def _service_type(slot_type: str) -> list[dict[str, Any]]:
    label = dict(SlotType.choices).get(slot_type, slot_type)
    return [{"coding": [{"system": slot_type_system(), "code": slot_type, "display": label}], "text": label}]


def slot_status(slot: Slot) -> str:
    if slot.session.status == SessionStatus.CANCELLED or slot.status == SlotStatus.BLOCKED:
        return "busy-unavailable"
    return "busy" if slot.status == SlotStatus.BOOKED else "free"


def slot_entry(slot: Slot) -> dict[str, Any]:
    """The slot, from slots()."""
    return {
        "resourceType": "Slot",
        "id": str(slot.pk),
        "meta": {"profile": [SLOT_PROFILE]},
        "serviceType": _service_type(slot.slot_type),
        "specialty": specialty(slot.session.clinic),
        "schedule": {"reference": f"Schedule/{slot.session.clinic_id}", "display": slot.session.clinic.name},
        "status": slot_status(slot),
        "start": instant(timezone.localtime(slot.starts_at)),
        "end": instant(timezone.localtime(slot.ends_at)),
    }


def slots() -> QuerySet[Slot]:
    return Slot.objects.select_related("session__clinic")


_CANCELLED = Q(session__status=SessionStatus.CANCELLED)
SLOT_STATUS_Q = {
    "free": Q(status=SlotStatus.FREE) & ~_CANCELLED,
    "busy": Q(status=SlotStatus.BOOKED) & ~_CANCELLED,
    "busy-unavailable": Q(status=SlotStatus.BLOCKED) | _CANCELLED,
}


def parse_slot_search(query: QueryDict) -> Search:
    count, offset, params = checked_query(
        query, {"schedule", "start", "status", "service-type"}, repeatable={"start", "status", "service-type"}
    )
    where = Q()
    if "schedule" in query:
        where &= Q(session__clinic_id=reference_pk(str(query["schedule"]), "Schedule", "schedule"))
    for value in query.getlist("start"):
        where &= instant_q("starts_at", value)
    if "status" in query:
        where &= tokens_q(query.getlist("status"), SLOT_STATUS, lambda c: SLOT_STATUS_Q.get(c, NOTHING))
    if "service-type" in query:
        where &= tokens_q(query.getlist("service-type"), slot_type_system(), lambda c: Q(slot_type=c))
    return Search(where=where, count=count, offset=offset, params=params)


def slot_page(search: Search) -> SearchPage[Slot]:
    """Matching slots, earliest first: a count and the page."""
    rows = slots().filter(search.where)
    total = rows.count()
    items = (
        list(rows.order_by("starts_at", "pk")[search.offset : search.offset + search.count]) if total else []
    )
    return SearchPage(total=total, items=items)


# --- Appointment ----------------------------------------------------------------------------------

STATUSES: dict[str, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.ARRIVED: "arrived",
    AppointmentStatus.SEEN: "fulfilled",
    AppointmentStatus.DNA: "noshow",
    # FHIR has no "left before being seen": the appointment did not happen, with that reason.
    AppointmentStatus.COULD_NOT_WAIT: "cancelled",
    AppointmentStatus.CANCELLED: "cancelled",
}


def _cancelation_reason(a: Appointment) -> dict[str, str] | None:
    if a.status == AppointmentStatus.COULD_NOT_WAIT:
        return {"text": "The patient could not wait"}
    if a.status != AppointmentStatus.CANCELLED:
        return None
    who = "the patient" if a.cancelled_by == CancelledBy.PATIENT else "the hospital"
    return {"text": f"Cancelled by {who}: {a.cancel_reason}" if a.cancel_reason else f"Cancelled by {who}"}


def appointment_entry(a: Appointment) -> dict[str, Any]:
    """The appointment, from appointments()."""
    slot, clinic = a.slot, a.slot.session.clinic
    return {
        "resourceType": "Appointment",
        "id": str(a.pk),
        "meta": {"profile": [APPOINTMENT_PROFILE], "versionId": str(a.version)},
        "identifier": [{"system": trust_system("appointment"), "value": str(a.pk)}],
        "status": STATUSES.get(a.status, "booked"),
        "cancelationReason": _cancelation_reason(a),
        "serviceType": _service_type(slot.slot_type),
        "specialty": specialty(clinic),
        "start": instant(timezone.localtime(slot.starts_at)),
        "end": instant(timezone.localtime(slot.ends_at)),
        "slot": [{"reference": f"Slot/{slot.pk}"}],
        "created": instant(timezone.localtime(a.booked_at)),
        "comment": a.notes or None,
        "participant": [
            {"actor": {"reference": f"Patient/{a.patient_id}"}, "required": "required", "status": "accepted"},
            {"actor": location_reference("clinic", clinic.pk, clinic.name), "status": "accepted"},
            {"actor": _consultant(clinic), "status": "accepted"},
        ],
    }


def appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related("slot__session__clinic__consultant", "patient")


def _status_q(code: str) -> Q:
    statuses = [status for status, fhir in STATUSES.items() if fhir == code]
    return Q(status__in=statuses) if statuses else NOTHING


def _actor_q(raw: str) -> Q:
    if raw.startswith("Patient/"):
        return Q(patient_id=patient_id_param(raw))
    if raw.startswith("Location/"):
        return _actor_clinic_q(raw, prefix="slot__session__clinic__")
    raise invalid_value("actor must be Patient/<id> or Location/<id> (clinic-<id> or site-<id>).", "actor")


def parse_appointment_search(query: QueryDict) -> Search:
    count, offset, params = checked_query(
        query, {"patient", "date", "status", "actor", "_sort"}, repeatable={"date", "status"}
    )
    newest_first = sort_newest_first(query, default="date", what="appointments")
    where = Q()
    for value in query.getlist("date"):
        where &= instant_q("slot__starts_at", value)
    if "status" in query:
        where &= tokens_q(query.getlist("status"), APPOINTMENT_STATUS, _status_q)
    if "actor" in query:
        where &= _actor_q(str(query["actor"]))
    patient_id = patient_id_param(str(query["patient"])) if "patient" in query else None
    return Search(
        where=where,
        patient_id=patient_id,
        newest_first=newest_first,
        count=count,
        offset=offset,
        params=params,
    )


def appointment_page(search: Search) -> SearchPage[Appointment]:
    rows = appointments().filter(search.where)
    if search.patient_id is not None:
        rows = rows.filter(patient_id=search.patient_id)
    total = rows.count()
    order = ("-slot__starts_at", "-pk") if search.newest_first else ("slot__starts_at", "pk")
    items = list(rows.order_by(*order)[search.offset : search.offset + search.count]) if total else []
    return SearchPage(total=total, items=items)


# --- Appointment create ---------------------------------------------------------------------------


def slot_of(resource: Any) -> int:
    """The slot a posted Appointment asks for: exactly one Slot/<id>."""
    references = [s.reference or "" for s in (resource.slot or [])]
    if len(references) != 1:
        raise invalid_value(
            "Name exactly one slot to book: slot: [{reference: Slot/<id>}].", "Appointment.slot"
        )
    pk = reference_pk(references[0].rsplit("/Slot/", 1)[-1], "Slot", "Appointment.slot")
    return pk


def patient_of(resource: Any, base_url: str) -> int:
    """The patient participant of a posted Appointment: one actor Patient/<id>."""
    found = [
        (p.actor.reference or "").removeprefix(f"{base_url}/")
        for p in (resource.participant or [])
        if p.actor is not None
        and (p.actor.reference or "").removeprefix(f"{base_url}/").startswith("Patient/")
    ]
    if len(found) != 1:
        raise invalid_value(
            "Name the patient once, as a participant whose actor is Patient/<id>.", "Appointment.participant"
        )
    return reference_pk(found[0], "Patient", "Appointment.participant")
