"""FHIR R4 API for vital-sign Observations and transaction Bundles. Thin, like the Patient views.

Staff see and record a patient's observations only with clinical access (a care relationship, or
break-glass taken in the record pages); writes also need records.add_observationset. System clients
(client credentials, no user) need a system/Observation or system/* scope. Every call is audited.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.utils.http import http_date
from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError
from epr.fhir.resources import etag, parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.transactions import AuditedRefusal, Outcomes, TransactionContext
from epr.fhir.views import Caller, FHIRView, refused, with_preconditions
from records import services
from records.access import Level, open_record
from records.errors import NoRelationship, RecordError
from records.fhir import common, observation_search
from records.fhir import observations as obs_fhir
from records.fhir.common import audit_search, patient_reference_id, refusal
from records.models import ObservationSet, Patient, PatientStatus

OBSERVATION_PERMISSION = "records.add_observationset"


def _no_patient(reference: str) -> FHIRError:
    return FHIRError(f"{reference} is not known.", status_code=404, code="not-found")


def get_patient_or_404(patient_id: int) -> Patient:
    try:
        return Patient.objects.get(pk=patient_id)
    except Patient.DoesNotExist as exc:
        raise _no_patient(f"Patient/{patient_id}") from exc


def clinical_access(caller: Caller, patient: Patient) -> str:
    """Refuse staff without clinical access to the patient (audited); returns any break-glass reason."""
    try:
        access = open_record(caller.user, patient, minimum=Level.CLINICAL, audit_action=None)
    except NoRelationship as exc:
        raise AuditedRefusal(
            "You have no care relationship with this patient. Emergency (break-glass) access is given "
            "only in the record pages, with a stated reason.",
            patient_id=patient.pk,
        ) from exc
    return access.break_glass_reason


def check_recordable(patient: Patient, element: str = "Observation.subject") -> None:
    # Entries on a merged-away record would be lost from the surviving record (and its chart).
    if patient.status == PatientStatus.MERGED:
        raise FHIRError(
            f"Patient/{patient.pk} was merged into Patient/{patient.merged_into_id}: record against that.",
            status_code=422,
            code="business-rule",
            expression=[element],
        )


def check_may_record(caller: Caller) -> None:
    if not caller.is_system and not caller.user.has_perm(OBSERVATION_PERMISSION):
        raise refused("You may not record observations.")


def observation_response(obs: ObservationSet, key: str, *, status: int = 200) -> Response:
    version = obs_fhir.resource_versions([obs.pk]).get((obs.pk, key))
    resource = obs_fhir.observation_resource(obs, key, version)
    response = Response(resource, status=status)
    if version is not None:
        response["ETag"] = etag(version[0])
        response["Last-Modified"] = http_date(version[1].timestamp())
    return response


def keep_search_parameters(bundle: dict[str, Any], params: list[tuple[str, str]]) -> dict[str, Any]:
    # search_bundle encodes one value per parameter; a date range repeats `date`, so put them back.
    if params:
        query = urlencode(params)
        for link in bundle["link"]:
            path, _, paging = link["url"].partition("?")
            link["url"] = f"{path}?{query}&{paging}"
    return bundle


def record_observation(
    caller: Caller, patient: Patient, item_values: dict[str, Any], taken_at: datetime, paths: dict[str, str]
) -> tuple[ObservationSet, bool]:
    """Add the values to the patient's FHIR set at that time; service refusals become OperationOutcomes."""
    try:
        return services.observation_set_record_at(
            recorded_by=caller.user, patient=patient, taken_at=taken_at, **item_values
        )
    except RecordError as exc:
        raise refusal(exc, paths, resource="Observation") from exc


class ObservationTypeView(FHIRView):
    """GET /Observation (search) and POST /Observation (record one vital sign)."""

    resource_type = "Observation"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        search = observation_search.parse_search(
            bounded_query(request.query_params), patient_required=not caller.is_system
        )
        reason = ""
        if search.patient_id is not None:
            reason = clinical_access(caller, get_patient_or_404(search.patient_id))
        page = observation_search.search_page(search)
        versions = obs_fhir.resource_versions({obs.pk for obs, _ in page.items})
        found = [(obs.patient_id, obs_fhir.resource_id(obs, key)) for obs, key in page.items]
        audit_search(caller.user, search, found, noun="observations", reason=reason)
        entries = [
            obs_fhir.observation_entry(obs, key, versions.get((obs.pk, key))) for obs, key in page.items
        ]
        bundle = search_bundle(
            base_url=self.base_url(),
            path="/Observation",
            params={},
            entries=entries,
            total=page.total,
            offset=search.offset,
            count=search.count,
        )
        return Response(validated(keep_search_parameters(bundle, search.params)))

    def post(self, request: Request) -> Response:
        caller = self.caller()
        check_may_record(caller)
        resource = parse_resource(request.data, "Observation")
        item = obs_fhir.observation_from_resource(resource)
        patient = get_patient_or_404(_subject_id(item.subject, self.base_url()))
        clinical_access(caller, patient)
        check_recordable(patient)
        obs, changed = record_observation(caller, patient, item.values, item.taken_at, item.paths)
        response = observation_response(obs, item.key, status=201 if changed else 200)
        response["Location"] = f"{self.base_url()}/Observation/{obs_fhir.resource_id(obs, item.key)}"
        return response


def _subject_id(reference: str, base_url: str) -> int:
    return patient_reference_id(
        reference,
        base_url,
        message="subject must reference a Patient: Patient/<id>.",
        expression="Observation.subject",
    )


class ObservationInstanceView(FHIRView):
    """GET /Observation/<set id>-<parameter> (read)."""

    resource_type = "Observation"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        parsed = obs_fhir.parse_id(id)
        obs = (
            ObservationSet.objects.select_related("recorded_by", "patient").filter(pk=parsed[0]).first()
            if parsed
            else None
        )
        if obs is None or parsed is None:
            raise FHIRError(f"Observation/{id} is not known.", status_code=404, code="not-found")
        reason = clinical_access(caller, obs.patient)
        if not obs_fhir.holds(obs, parsed[1]):
            raise FHIRError(f"Observation/{id} is not known.", status_code=404, code="not-found")
        audit_record(
            user=caller.user,
            action=Action.VIEW,
            patient_id=obs.patient_id,
            obj=obs,
            break_glass_reason=reason,
            detail={"observation": id},
        )
        return with_preconditions(request, observation_response(obs, parsed[1]))


def check_staff_may_record(caller: Caller, index: int) -> None:
    check_may_record(caller)


def _subject(context: TransactionContext, reference: str) -> Patient:
    """The Patient an Observation is about: one created in this Bundle (by fullUrl), or Patient/<id>."""
    created = context.created_with_full_url(reference)
    if isinstance(created, Patient):
        return created
    if reference.startswith("urn:"):
        raise FHIRError(
            f"{reference} is not the fullUrl of a Patient in this Bundle.",
            code="value",
            expression=["Observation.subject"],
        )
    return get_patient_or_404(_subject_id(reference, context.base_url))


def record_observations(context: TransactionContext, items: list[tuple[int, Any]]) -> Outcomes:
    """A transaction's Observations, grouped into sets by (patient, time), each set recorded once.

    Returns each entry's location and whether it created (or added) anything.
    """
    groups: dict[tuple[int, datetime], list[tuple[int, obs_fhir.ObservationInput]]] = defaultdict(list)
    patients: dict[int, Patient] = {}
    for index, entry in items:
        try:
            item = obs_fhir.observation_from_resource(entry.resource)
            patient = _subject(context, item.subject)
        except FHIRError as exc:
            raise common.in_entry(exc, index) from exc
        patients.setdefault(patient.pk, patient)
        groups[(patient.pk, item.taken_at)].append((index, item))
    for patient in patients.values():
        clinical_access(context.caller, patient)
        check_recordable(patient)
    outcomes: Outcomes = {}
    for (patient_id, taken_at), grouped in groups.items():
        values, paths = obs_fhir.merge_inputs(grouped)
        obs, changed = record_observation(context.caller, patients[patient_id], values, taken_at, paths)
        for index, item in grouped:
            outcomes[index] = (f"Observation/{obs_fhir.resource_id(obs, item.key)}", changed)
    return outcomes
