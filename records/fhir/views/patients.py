"""FHIR R4 API for Patient. Thin: authenticate, check access, call a selector or service, render.
The view kit (callers, scopes, preconditions) is the kernel's, epr/fhir/views.py."""

from __future__ import annotations

from typing import Any

from django.utils.http import http_date
from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit.models import Action
from epr.audit.services import audit_patients_shown
from epr.fhir.errors import FHIRError
from epr.fhir.resources import etag, parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.transactions import Outcomes, TransactionContext
from epr.fhir.views import Caller, FHIRView, expected_version, refused, with_preconditions
from records import services
from records.access import Level, edit_level, open_record
from records.errors import NoRelationship, RecordError, StaleEdit
from records.fhir import patient_search as patient_search
from records.fhir import patients as fhir
from records.fhir.common import in_entry, refusal
from records.models import Patient


def _not_found(patient_id: int) -> FHIRError:
    return FHIRError(f"Patient/{patient_id} is not known.", status_code=404, code="not-found")


def open_patient(caller: Caller, patient_id: int, *, minimum: Level = Level.DEMOGRAPHIC) -> Patient:
    """The patient, if the caller may see them; the access (or refusal) is audited."""
    try:
        patient = Patient.objects.get(pk=patient_id)
        open_record(caller.user, patient, minimum=minimum)
        return patient
    except Patient.DoesNotExist as exc:
        raise _not_found(patient_id) from exc
    except NoRelationship as exc:
        raise refused(
            "You have no care relationship with this patient. Emergency (break-glass) access is given "
            "only in the record pages, with a stated reason."
        ) from exc


def patient_response(patient: Patient, *, status: int = 200) -> Response:
    response = Response(fhir.patient_resource(patient), status=status)
    response["ETag"] = etag(patient.version)
    response["Last-Modified"] = http_date(patient.updated_at.timestamp())
    return response


class PatientTypeView(FHIRView):
    """GET /Patient (search) and POST /Patient (create)."""

    resource_type = "Patient"

    def get(self, request: Request) -> Response:
        search = patient_search.parse_search(bounded_query(request.query_params))
        queryset = patient_search.search_queryset(search)
        total = queryset.count()
        page = list(queryset[search.offset : search.offset + search.count])
        caller = self.caller()
        # One row per patient returned, so each one's access log shows the search.
        audit_patients_shown(
            user=caller.user,
            action=Action.SEARCH,
            patient_ids=[p.pk for p in page],
            detail={"criteria": search.criteria},
            per_patient={p.pk: {"patients": [p.pk]} for p in page},
        )
        # Staff see identity fields only, as on the search page; the full record is a read away.
        entries = [fhir.patient_entry(p, subset=not caller.is_system) for p in page]
        bundle = search_bundle(
            base_url=self.base_url(),
            path="/Patient",
            params=search.params,
            entries=entries,
            total=total,
            offset=search.offset,
            count=search.count,
        )
        return Response(validated(bundle))

    def post(self, request: Request) -> Response:
        caller = self.caller()
        if not caller.is_system and not caller.user.has_perm("records.add_patient"):
            raise refused("You may not register patients.")
        resource = parse_resource(request.data, "Patient")
        values = fhir.demographics_from_resource(resource)
        try:
            patient = services.patient_register(registered_by=caller.user, **values)
        except RecordError as exc:
            raise refusal(exc, fhir.FIELD_ELEMENTS, resource=None) from exc
        response = patient_response(patient, status=201)
        response["Location"] = f"{self.base_url()}/Patient/{patient.pk}"
        return response


class PatientInstanceView(FHIRView):
    """GET /Patient/<id> (read) and PUT /Patient/<id> (version-aware update)."""

    resource_type = "Patient"

    def get(self, request: Request, id: int) -> Response:
        return with_preconditions(request, patient_response(open_patient(self.caller(), id)))

    def put(self, request: Request, id: int) -> Response:
        caller = self.caller()
        if not caller.is_system and not caller.user.has_perm("records.change_patient"):
            raise refused("You may not change patients' details.")
        minimum = Level.DEMOGRAPHIC if caller.is_system else edit_level(caller.user)
        patient = open_patient(caller, id, minimum=minimum)
        resource = parse_resource(request.data, "Patient")
        if resource.id != str(id):
            raise FHIRError(
                f"The resource id must be {id}, as in the URL.", code="invalid", expression=["Patient.id"]
            )
        version = expected_version(request, resource)
        values = fhir.demographics_from_resource(resource)
        try:
            patient = services.patient_update(
                updated_by=caller.user, patient=patient, expected_version=version, changes=values
            )
        except StaleEdit as exc:
            raise FHIRError(
                f"Patient/{id} has changed since version {version}: read it again, then resend your change.",
                status_code=409,
                code="conflict",
            ) from exc
        except RecordError as exc:
            raise refusal(exc, fhir.FIELD_ELEMENTS, resource=None) from exc
        return patient_response(patient)


def check_staff_may_register(caller: Caller, index: int) -> None:
    if not caller.user.has_perm("records.add_patient"):
        raise refused(f"Bundle.entry[{index}]: you may not register patients.")


def create_patients(context: TransactionContext, items: list[tuple[int, Any]]) -> Outcomes:
    """A transaction's Patient entries: each registered, and kept by entry index for later parts."""
    full_urls: set[str] = set()
    for index, entry in items:
        if entry.fullUrl and entry.fullUrl in full_urls:
            raise FHIRError(
                f"Bundle.entry[{index}]: fullUrl {entry.fullUrl} is used twice.",
                expression=[f"Bundle.entry[{index}].fullUrl"],
            )
        full_urls.add(entry.fullUrl or "")
        try:
            values = fhir.demographics_from_resource(entry.resource)
            context.created[index] = services.patient_register(registered_by=context.caller.user, **values)
        except FHIRError as exc:
            raise in_entry(exc, index) from exc
        except RecordError as exc:
            raise in_entry(refusal(exc, fhir.FIELD_ELEMENTS, resource=None), index) from exc
    return {index: (f"Patient/{context.created[index].pk}", True) for index, _ in items}
