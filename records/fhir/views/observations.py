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

from django.db import transaction
from django.utils.http import http_date
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError
from epr.fhir.resources import etag, parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from records import services
from records.access import patient_access
from records.errors import RecordError
from records.fhir import observations as obs_fhir
from records.fhir import patients as fhir
from records.fhir.common import audit_search, patient_reference_id
from records.fhir.views.patients import (
    Caller,
    FHIRView,
    refused,
    scopes_for,
    system_token,
    with_preconditions,
)
from records.models import ObservationSet, Patient, PatientStatus
from records.rules import news2 as news2

OBSERVATION_PERMISSION = "records.add_observationset"


def _no_patient(reference: str) -> FHIRError:
    return FHIRError(f"{reference} is not known.", status_code=404, code="not-found")


def get_patient_or_404(patient_id: int) -> Patient:
    try:
        return Patient.objects.get(pk=patient_id)
    except Patient.DoesNotExist as exc:
        raise _no_patient(f"Patient/{patient_id}") from exc


class PatientRefused(FHIRError):
    """A refusal for want of a care relationship, naming the patient so it can be audited again if the
    transaction that held the first audit row is rolled back."""

    def __init__(self, message: str, *, patient_id: int) -> None:
        super().__init__(message, status_code=403, code="forbidden")
        self.patient_id = patient_id


def clinical_access(caller: Caller, patient: Patient) -> str:
    """Refuse staff without clinical access to the patient (audited); returns any break-glass reason."""
    if caller.is_system:
        return ""
    access = patient_access(caller.user, patient)
    if not access.clinical:
        audit_record(user=caller.user, action=Action.DENIED, patient_id=patient.pk, obj=patient)
        raise PatientRefused(
            "You have no care relationship with this patient. Emergency (break-glass) access is given "
            "only in the record pages, with a stated reason.",
            patient_id=patient.pk,
        )
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
    except news2.VitalSignsError as exc:
        raise obs_fhir.vital_signs_error(exc, paths) from exc
    except RecordError as exc:
        raise obs_fhir.record_error(exc, paths) from exc


class ObservationTypeView(FHIRView):
    """GET /Observation (search) and POST /Observation (record one vital sign)."""

    resource_type = "Observation"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        search = obs_fhir.parse_search(
            bounded_query(request.query_params), patient_required=not caller.is_system
        )
        reason = ""
        if search.patient_id is not None:
            reason = clinical_access(caller, get_patient_or_404(search.patient_id))
        page = obs_fhir.search_page(search)
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


class StaffOrWritingClient(BasePermission):
    """A transaction may hold several resource types: each entry's scope is checked by the view."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = system_token(request)
        if token is None:
            return bool(request.user and request.user.is_authenticated)
        return any(scope.startswith("system/") and scope.endswith(".write") for scope in token.scope.split())


class TransactionView(FHIRView):
    """POST / with a transaction Bundle of Patient and Observation creates: all saved, or none."""

    permission_classes = [StaffOrWritingClient]
    ENTRY_TYPES = ("Patient", "Observation")
    MAX_ENTRIES = 100  # a few patients' whole sets; one request must not register thousands

    def post(self, request: Request) -> Response:
        caller = self.caller()
        bundle = parse_resource(request.data, "Bundle")
        if bundle.type != "transaction":
            raise FHIRError(
                "Only transaction Bundles are accepted here.",
                code="not-supported",
                expression=["Bundle.type"],
            )
        entries = list(bundle.entry or [])
        if len(entries) > self.MAX_ENTRIES:
            raise FHIRError(
                f"The Bundle has {len(entries):,} entries: at most {self.MAX_ENTRIES} are taken in one "
                "transaction. Send them in several.",
                code="too-costly",
                expression=["Bundle.entry"],
            )
        for index, entry in enumerate(entries):
            self._check_entry(caller, index, entry)
        try:
            with transaction.atomic():
                patients = self._create_patients(caller, entries)
                outcomes = {
                    **{index: (f"Patient/{p.pk}", True) for index, p in patients.items()},
                    **self._record_observations(caller, entries, patients),
                }
        except PatientRefused as refusal:
            # The refusal's audit row went with the rolled-back bundle: keep it.
            audit_record(user=caller.user, action=Action.DENIED, patient_id=refusal.patient_id)
            raise
        return Response(validated(self._response_bundle(outcomes)))

    def _check_entry(self, caller: Caller, index: int, entry: Any) -> None:
        def fail(message: str, element: str, code: str = "not-supported") -> FHIRError:
            return FHIRError(
                f"Bundle.entry[{index}]: {message}",
                code=code,
                expression=[f"Bundle.entry[{index}].{element}"],
            )

        if entry.request is None or entry.resource is None:
            raise fail("Each entry needs a resource and a request.", "request", "required")
        kind = entry.resource.get_resource_type()
        if entry.request.method != "POST" or entry.request.url not in self.ENTRY_TYPES:
            raise fail("Only POST of a Patient or an Observation is supported in a transaction.", "request")
        if entry.request.url != kind:
            raise fail(
                f"request.url {entry.request.url} does not match the resource ({kind}).",
                "request.url",
                "invalid",
            )
        if entry.request.ifNoneExist:
            raise fail("Conditional create (ifNoneExist) is not supported.", "request.ifNoneExist")
        token = system_token(self.request)
        if token is not None and not set(token.scope.split()) & scopes_for(kind, "POST"):
            raise refused(f"Bundle.entry[{index}]: this client may not create {kind} resources.")
        if caller.is_system:
            return
        if kind == "Patient" and not caller.user.has_perm("records.add_patient"):
            raise refused(f"Bundle.entry[{index}]: you may not register patients.")
        if kind == "Observation":
            check_may_record(caller)

    def _create_patients(self, caller: Caller, entries: list[Any]) -> dict[int, Patient]:
        """Register each Patient entry; returns them by entry index."""
        created: dict[int, Patient] = {}
        full_urls: set[str] = set()
        for index, entry in enumerate(entries):
            if entry.resource.get_resource_type() != "Patient":
                continue
            if entry.fullUrl and entry.fullUrl in full_urls:
                raise FHIRError(
                    f"Bundle.entry[{index}]: fullUrl {entry.fullUrl} is used twice.",
                    expression=[f"Bundle.entry[{index}].fullUrl"],
                )
            full_urls.add(entry.fullUrl or "")
            try:
                values = fhir.demographics_from_resource(entry.resource)
                created[index] = services.patient_register(registered_by=caller.user, **values)
            except FHIRError as exc:
                raise obs_fhir.in_entry(exc, index) from exc
            except RecordError as exc:
                error = FHIRError(
                    exc.message,
                    status_code=422,
                    code="business-rule",
                    expression=fhir.expression_for(exc.field),
                )
                raise obs_fhir.in_entry(error, index) from exc
        return created

    def _subject(self, reference: str, entries: list[Any], created: dict[int, Patient]) -> Patient:
        """The Patient an Observation is about: one created in this Bundle (by fullUrl), or Patient/<id>."""
        for index, patient in created.items():
            if entries[index].fullUrl == reference:
                return patient
        if reference.startswith("urn:"):
            raise FHIRError(
                f"{reference} is not the fullUrl of a Patient in this Bundle.",
                code="value",
                expression=["Observation.subject"],
            )
        return get_patient_or_404(_subject_id(reference, self.base_url()))

    def _record_observations(
        self, caller: Caller, entries: list[Any], created: dict[int, Patient]
    ) -> dict[int, tuple[str, bool]]:
        """Group the Observations into sets by (patient, time) and record each set once.

        Returns each entry's location and whether it created (or added) anything.
        """
        groups: dict[tuple[int, datetime], list[tuple[int, obs_fhir.ObservationInput]]] = defaultdict(list)
        patients: dict[int, Patient] = {}
        for index, entry in enumerate(entries):
            if entry.resource.get_resource_type() != "Observation":
                continue
            try:
                item = obs_fhir.observation_from_resource(entry.resource)
                patient = self._subject(item.subject, entries, created)
            except FHIRError as exc:
                raise obs_fhir.in_entry(exc, index) from exc
            patients.setdefault(patient.pk, patient)
            groups[(patient.pk, item.taken_at)].append((index, item))
        for patient in patients.values():
            clinical_access(caller, patient)
            check_recordable(patient)
        outcomes: dict[int, tuple[str, bool]] = {}
        for (patient_id, taken_at), items in groups.items():
            values, paths = obs_fhir.merge_inputs(items)
            obs, changed = record_observation(caller, patients[patient_id], values, taken_at, paths)
            for index, item in items:
                outcomes[index] = (f"Observation/{obs_fhir.resource_id(obs, item.key)}", changed)
        return outcomes

    def _response_bundle(self, outcomes: dict[int, tuple[str, bool]]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [
                {
                    "fullUrl": f"{self.base_url()}/{location}",
                    "response": {"status": "201 Created" if changed else "200 OK", "location": location},
                }
                for _, (location, changed) in sorted(outcomes.items())
            ],
        }
