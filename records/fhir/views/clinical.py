"""FHIR R4 API for AllergyIntolerance and Condition (UK Core). Thin, like the Observation views.

Staff read, search and record a patient's allergies and problems only with clinical access (a care
relationship, or break-glass taken in the record pages); recording also needs the model permission
the record pages ask for. System clients need a system/<type> or system/* scope, and may read and
search; recording needs a named member of staff, since every allergy and problem has a recorder.
Every call is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError
from epr.fhir.resources import etag, parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.views import Caller, FHIRView, refused
from epr.parsing import ascii_int
from records import services
from records.errors import RecordError
from records.fhir import clinical as fhir_clinical
from records.fhir import clinical_search as clinical_search
from records.fhir.common import audit_search, patient_reference_id, refusal
from records.fhir.views.observations import (
    check_recordable,
    clinical_access,
    get_patient_or_404,
    keep_search_parameters,
)
from records.models import AllergyIntolerance, Patient, Problem


def _record_allergy(caller: Caller, patient: Patient, item: fhir_clinical.EntryInput) -> AllergyIntolerance:
    if item.none_known:
        return services.allergy_record_none_known(recorded_by=caller.user, patient=patient)
    return services.allergy_record(recorded_by=caller.user, patient=patient, **item.values)


def _record_problem(caller: Caller, patient: Patient, item: fhir_clinical.EntryInput) -> Problem:
    return services.problem_record(recorded_by=caller.user, patient=patient, **item.values)


@dataclass(frozen=True)
class Kind:
    """One clinical resource type: its rows, its FHIR shape both ways, its search and its service."""

    resource_type: str
    model: type[Model]
    noun: str  # plural, for messages and audit rows
    patient_element: str  # where the patient reference is in the resource
    add_permission: str
    search: clinical_search.SearchSpec
    entry: Callable[[Any], dict[str, Any]]
    from_resource: Callable[[Any], fhir_clinical.EntryInput]
    record: Callable[[Caller, Patient, fhir_clinical.EntryInput], Any]


ALLERGIES = Kind(
    resource_type="AllergyIntolerance",
    model=AllergyIntolerance,
    noun="allergies",
    patient_element="AllergyIntolerance.patient",
    add_permission="records.add_allergyintolerance",
    search=clinical_search.ALLERGY_SEARCH,
    entry=fhir_clinical.allergy_entry,
    from_resource=fhir_clinical.allergy_from_resource,
    record=_record_allergy,
)
CONDITIONS = Kind(
    resource_type="Condition",
    model=Problem,
    noun="problems",
    patient_element="Condition.subject",
    add_permission="records.add_problem",
    search=clinical_search.CONDITION_SEARCH,
    entry=fhir_clinical.condition_entry,
    from_resource=fhir_clinical.condition_from_resource,
    record=_record_problem,
)


def _not_found(kind: Kind, id: str) -> FHIRError:
    return FHIRError(f"{kind.resource_type}/{id} is not known.", status_code=404, code="not-found")


def entry_response(kind: Kind, row: Any, *, status: int = 200) -> Response:
    response = Response(validated(kind.entry(row)), status=status)
    response["ETag"] = etag(row.version)
    return response


def patient_id_param(kind: Kind, reference: str, base_url: str) -> int:
    return patient_reference_id(
        reference,
        base_url,
        message="The patient must be referenced as Patient/<id>.",
        expression=kind.patient_element,
    )


class ClinicalTypeView(FHIRView):
    """GET /<type> (search) and POST /<type> (record one)."""

    kind: Kind

    def get(self, request: Request) -> Response:
        kind, caller = self.kind, self.caller()
        search = clinical_search.parse_search(
            bounded_query(request.query_params), kind.search, patient_required=not caller.is_system
        )
        reason = ""
        if search.patient_id is not None:
            reason = clinical_access(caller, get_patient_or_404(search.patient_id))
        page = clinical_search.search_page(kind.model, search)
        found = [(row.patient_id, str(row.pk)) for row in page.items]
        audit_search(caller.user, search, found, noun=kind.noun, reason=reason)
        bundle = search_bundle(
            base_url=self.base_url(),
            path=f"/{kind.resource_type}",
            params={},
            entries=[kind.entry(row) for row in page.items],
            total=page.total,
            offset=search.offset,
            count=search.count,
        )
        return Response(validated(keep_search_parameters(bundle, search.params)))

    def post(self, request: Request) -> Response:
        kind, caller = self.kind, self.caller()
        if caller.is_system:
            raise refused(
                f"Recording {kind.noun} needs a signed-in member of staff, who is kept as the recorder."
            )
        if not caller.user.has_perm(kind.add_permission):
            raise refused(f"You may not record {kind.noun}.")
        resource = parse_resource(request.data, kind.resource_type)
        item = kind.from_resource(resource)
        patient = get_patient_or_404(patient_id_param(kind, item.patient, self.base_url()))
        clinical_access(caller, patient)
        check_recordable(patient, kind.patient_element)
        try:
            row = kind.record(caller, patient, item)
        except RecordError as exc:
            raise refusal(exc, item.paths, resource=kind.resource_type) from exc
        response = entry_response(kind, row, status=201)
        response["Location"] = f"{self.base_url()}/{kind.resource_type}/{row.pk}"
        return response


class ClinicalInstanceView(FHIRView):
    """GET /<type>/<id> (read)."""

    kind: Kind

    def get(self, request: Request, id: str) -> Response:
        kind, caller = self.kind, self.caller()
        row = (
            kind.model._default_manager.select_related("recorded_by", "patient")
            .filter(pk=ascii_int(id))
            .first()
            if ascii_int(id) is not None
            else None
        )
        if row is None:
            raise _not_found(kind, id)
        reason = clinical_access(caller, row.patient)
        audit_record(
            user=caller.user,
            action=Action.VIEW,
            patient_id=row.patient_id,
            obj=row,
            break_glass_reason=reason,
        )
        return entry_response(kind, row)


class AllergyIntoleranceTypeView(ClinicalTypeView):
    resource_type = "AllergyIntolerance"
    kind = ALLERGIES


class AllergyIntoleranceInstanceView(ClinicalInstanceView):
    resource_type = "AllergyIntolerance"
    kind = ALLERGIES


class ConditionTypeView(ClinicalTypeView):
    resource_type = "Condition"
    kind = CONDITIONS


class ConditionInstanceView(ClinicalInstanceView):
    resource_type = "Condition"
    kind = CONDITIONS
