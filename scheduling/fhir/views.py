"""FHIR R4 API for scheduling: Location, Schedule and Slot (read and search), Encounter (read and
search), Appointment (read, search and create). Thin: parse, open through the access door, read a
page, audit, render.

Location, Schedule and Slot hold no patient data: any signed-in member of staff may read them, and a
system client with the type's read scope (or system/*.read); each read and search is audited without
a patient, as the medicines catalogue is. Encounter and Appointment are a patient's: staff open the
patient through records' one access door at the administrative level (clinical staff through a care
relationship or break-glass; clerks, managers and administrators by role, as on the record pages),
and a staff search names one patient. Every read and search is audited against the patient, each
refusal writes a "denied" row.

An Appointment is created by a member of staff who may book (scheduling.book_appointment), signed in
or with a token bound to them, through the booking service, which locks the slot: a slot taken a
moment before answers 409 (conflict). A system client (client credentials, with the write scope)
books as itself: the appointment names the client instead of a member of staff.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError
from epr.fhir.resources import parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.transactions import AuditedRefusal
from epr.fhir.views import Caller, FHIRView, refused, system_token
from epr.parsing import ascii_int
from records.access import Level, open_record
from records.errors import NoRelationship, RecordError
from records.fhir.common import audit_search, refusal
from records.fhir.views.observations import get_patient_or_404, keep_search_parameters
from records.models import Patient
from scheduling.fhir import Search, require_patient
from scheduling.fhir import appointments as fhir
from scheduling.fhir import encounters as fhir_encounters
from scheduling.fhir import locations as fhir_locations
from scheduling.models import Slot
from scheduling.services.appointments import SLOT_TAKEN, appointment_book

BOOKS = "scheduling.book_appointment"
LOCATION_NOUN = "locations"  # the audit detail key a search names what it returned by
SCHEDULE_NOUN = "schedules"
SLOT_NOUN = "slots"
APPOINTMENT_NOUN = "appointments"
ENCOUNTER_NOUN = "encounters"


def open_patient(caller: Caller, patient: Patient) -> str:
    """The access door for a patient's appointments and encounters (administrative detail): refused
    staff are audited "denied" by the door; returns any break-glass reason."""
    try:
        access = open_record(caller.user, patient, minimum=Level.DEMOGRAPHIC, audit_action=None)
    except NoRelationship as exc:
        raise AuditedRefusal(
            "You have no care relationship with this patient. Emergency (break-glass) access is given "
            "only in the record pages, with a stated reason.",
            patient_id=patient.pk,
        ) from exc
    return access.break_glass_reason


def _not_found(resource_type: str, id: str) -> FHIRError:
    return FHIRError(f"{resource_type}/{id} is not known.", status_code=404, code="not-found")


def _row(rows: Any, id: str) -> Any:
    pk = ascii_int(id)
    return rows.filter(pk=pk).first() if pk is not None else None


def _searchset(view: FHIRView, entries: list[dict[str, Any]], total: int, search: Search) -> Response:
    bundle = search_bundle(
        base_url=view.base_url(),
        path=f"/{view.resource_type}",
        params={},
        entries=entries,
        total=total,
        offset=search.offset,
        count=search.count,
    )
    return Response(validated(keep_search_parameters(bundle, search.params)))


def _audit_lookup(caller: Caller, search: Search, noun: str, ids: list[str]) -> None:
    """A search of what holds no patient data: one row, naming what it returned."""
    audit_record(user=caller.user, action=Action.SEARCH, detail={"criteria": search.criteria, noun: ids})


def _audit_read(
    caller: Caller, noun: str, id: str, *, patient_id: int | None = None, reason: str = ""
) -> None:
    audit_record(
        user=caller.user,
        action=Action.VIEW,
        patient_id=patient_id,
        break_glass_reason=reason,
        detail={noun: [id]},
    )


# --- Location, Schedule, Slot ---------------------------------------------------------------------


class LocationTypeView(FHIRView):
    """GET /Location (search)."""

    resource_type = "Location"

    def get(self, request: Request) -> Response:
        search = fhir_locations.parse_search(bounded_query(request.query_params))
        page = fhir_locations.location_page(search)
        entries = [fhir_locations.location_entry(kind, row) for kind, row in page.items]
        _audit_lookup(self.caller(), search, LOCATION_NOUN, [e["id"] for e in entries])
        return _searchset(self, entries, page.total, search)


class LocationInstanceView(FHIRView):
    """GET /Location/<kind>-<id> (read)."""

    resource_type = "Location"

    def get(self, request: Request, id: str) -> Response:
        found = fhir_locations.location_row(id)
        if found is None:
            raise _not_found(self.resource_type, id)
        _audit_read(self.caller(), LOCATION_NOUN, id)
        return Response(validated(fhir_locations.location_entry(*found)))


class ScheduleTypeView(FHIRView):
    """GET /Schedule (search)."""

    resource_type = "Schedule"

    def get(self, request: Request) -> Response:
        search = fhir.parse_schedule_search(bounded_query(request.query_params))
        page = fhir.schedule_page(search)
        _audit_lookup(self.caller(), search, SCHEDULE_NOUN, [str(c.pk) for c in page.items])
        return _searchset(self, [fhir.schedule_entry(c) for c in page.items], page.total, search)


class ScheduleInstanceView(FHIRView):
    """GET /Schedule/<id> (read)."""

    resource_type = "Schedule"

    def get(self, request: Request, id: str) -> Response:
        clinic = _row(fhir.clinics(), id)
        if clinic is None:
            raise _not_found(self.resource_type, id)
        _audit_read(self.caller(), SCHEDULE_NOUN, id)
        return Response(validated(fhir.schedule_entry(clinic)))


class SlotTypeView(FHIRView):
    """GET /Slot (search)."""

    resource_type = "Slot"

    def get(self, request: Request) -> Response:
        search = fhir.parse_slot_search(bounded_query(request.query_params))
        page = fhir.slot_page(search)
        _audit_lookup(self.caller(), search, SLOT_NOUN, [str(s.pk) for s in page.items])
        return _searchset(self, [fhir.slot_entry(s) for s in page.items], page.total, search)


class SlotInstanceView(FHIRView):
    """GET /Slot/<id> (read)."""

    resource_type = "Slot"

    def get(self, request: Request, id: str) -> Response:
        slot = _row(fhir.slots(), id)
        if slot is None:
            raise _not_found(self.resource_type, id)
        _audit_read(self.caller(), SLOT_NOUN, id)
        return Response(validated(fhir.slot_entry(slot)))


# --- Encounter ------------------------------------------------------------------------------------


class EncounterTypeView(FHIRView):
    """GET /Encounter (search admissions and attendances)."""

    resource_type = "Encounter"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        query = bounded_query(request.query_params)
        if not caller.is_system:
            require_patient(query, "encounters")
        search = fhir_encounters.parse_search(query)
        reason = ""
        if search.patient_id is not None:
            reason = open_patient(caller, get_patient_or_404(search.patient_id))
        page = fhir_encounters.encounter_page(search)
        entries = [fhir_encounters.encounter_entry(row) for row in page.items]
        found = [(row.patient_id, e["id"]) for row, e in zip(page.items, entries, strict=True)]
        audit_search(caller.user, search, found, noun=ENCOUNTER_NOUN, reason=reason)
        return _searchset(self, entries, page.total, search)


class EncounterInstanceView(FHIRView):
    """GET /Encounter/adm-<id> or att-<id> (read)."""

    resource_type = "Encounter"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        row = fhir_encounters.encounter_row(id)
        if row is None:
            raise _not_found(self.resource_type, id)
        reason = open_patient(caller, row.patient)
        _audit_read(caller, ENCOUNTER_NOUN, id, patient_id=row.patient_id, reason=reason)
        return Response(validated(fhir_encounters.encounter_entry(row)))


# --- Appointment ----------------------------------------------------------------------------------


class AppointmentTypeView(FHIRView):
    """GET /Appointment (search) and POST /Appointment (book a free slot)."""

    resource_type = "Appointment"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        query = bounded_query(request.query_params)
        if not caller.is_system:
            require_patient(query, "appointments")
        search = fhir.parse_appointment_search(query)
        reason = ""
        if search.patient_id is not None:
            reason = open_patient(caller, get_patient_or_404(search.patient_id))
        page = fhir.appointment_page(search)
        found = [(a.patient_id, str(a.pk)) for a in page.items]
        audit_search(caller.user, search, found, noun=APPOINTMENT_NOUN, reason=reason)
        return _searchset(self, [fhir.appointment_entry(a) for a in page.items], page.total, search)

    def post(self, request: Request) -> Response:
        caller = self.caller()
        check_may_book(caller)
        resource = parse_resource(request.data, self.resource_type)
        if resource.status != "booked":
            raise FHIRError(
                "An appointment is created booked: send status booked.",
                status_code=422,
                code="value",
                expression=["Appointment.status"],
            )
        slot = _slot(fhir.slot_of(resource))
        patient = get_patient_or_404(fhir.patient_of(resource, self.base_url()))
        open_patient(caller, patient)
        token = system_token(request)
        client = token.application.name if token is not None and token.application_id else ""
        appointment = _book(caller, patient, slot, resource.comment or "", client)
        body = fhir.appointment_entry(fhir.appointments().get(pk=appointment.pk))
        response = Response(validated(body), status=201)
        response["Location"] = f"{self.base_url()}/Appointment/{appointment.pk}"
        return response


def check_may_book(caller: Caller) -> None:
    if caller.is_system:
        return  # the permission class checked the client's write scope; the booking names the client
    if not caller.user.has_perm(BOOKS):
        raise refused("You may not book appointments.")


def _slot(pk: int) -> Slot:
    slot = Slot.objects.filter(pk=pk).first()
    if slot is None:
        raise FHIRError(
            f"Slot/{pk} is not known.", status_code=422, code="value", expression=["Appointment.slot"]
        )
    return slot


def _book(caller: Caller, patient: Patient, slot: Slot, notes: str, client: str) -> Any:
    """The booking service's answer; a slot someone else took a moment ago is a 409 conflict."""
    try:
        return appointment_book(by=caller.user, patient=patient, slot=slot, notes=notes, client=client)
    except RecordError as exc:
        if exc.message == SLOT_TAKEN:
            raise FHIRError(
                f"Slot/{slot.pk} was booked by someone else a moment ago: choose another free slot.",
                status_code=409,
                code="conflict",
                expression=["Appointment.slot"],
            ) from exc
        raise refusal(exc, {"notes": "Appointment.comment"}, resource="Appointment") from exc


class AppointmentInstanceView(FHIRView):
    """GET /Appointment/<id> (read)."""

    resource_type = "Appointment"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        appointment = _row(fhir.appointments(), id)
        if appointment is None:
            raise _not_found(self.resource_type, id)
        reason = open_patient(caller, appointment.patient)
        audit_record(
            user=caller.user,
            action=Action.VIEW,
            patient_id=appointment.patient_id,
            obj=appointment,
            break_glass_reason=reason,
        )
        return Response(validated(fhir.appointment_entry(appointment)))
