"""FHIR R4 API for Patient. Thin: authenticate, check access, call a selector or service, render.

Two kinds of caller:
- a member of staff (browser session, or a token bound to a user): patient-level access through
  records.access like the record pages, and the same model permissions for writes;
- a system client (client-credentials token, no user): allowed by the token's SMART-style system
  scopes, with no care relationship; its application name goes on every audit row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from oauth2_provider.models import get_access_token_model
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from epr.audit import context as audit_context
from epr.audit.models import Action
from epr.audit.services import audit_patients_shown, audit_record
from epr.fhir.capability import capability_statement
from epr.fhir.errors import FHIRError
from epr.fhir.renderers import FHIRJSONParser, FHIRJSONRenderer, PlainJSONParser, PlainJSONRenderer
from epr.fhir.resources import etag, parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from records import services
from records.access import Level, edit_level
from records.errors import NoRelationship, RecordError, StaleEdit
from records.fhir import patients as fhir
from records.models import Patient
from records.selectors import patients as selectors

AccessToken = get_access_token_model()


def system_token(request: Request) -> Any:
    """The access token of a system client (client credentials: no user), else None."""
    token = request.auth
    return token if isinstance(token, AccessToken) and token.user_id is None else None


def scopes_for(resource_type: str, method: str) -> frozenset[str]:
    mode = "read" if method in SAFE_METHODS else "write"
    return frozenset({f"system/*.{mode}", f"system/{resource_type}.{mode}"})


class StaffOrScopedClient(BasePermission):
    """Staff must be signed in; a system client needs a read or write scope for the resource type."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = system_token(request)
        if token is None:
            return bool(request.user and request.user.is_authenticated)
        needed = scopes_for(view.resource_type, request.method)
        if set(token.scope.split()) & needed:
            return True
        self.message = f"This client's token has none of the scopes {', '.join(sorted(needed))}."
        return False


@dataclass(frozen=True)
class Caller:
    user: Any  # the member of staff, or None for a system client

    @property
    def is_system(self) -> bool:
        return self.user is None


class FHIRView(APIView):
    renderer_classes = [FHIRJSONRenderer, PlainJSONRenderer]
    parser_classes = [FHIRJSONParser, PlainJSONParser]
    permission_classes = [StaffOrScopedClient]
    resource_type = "Patient"

    uses_database = True  # False where the view reads nothing from the database

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # One transaction per API call, so a statement timeout can bound every query it makes (one
        # costly search must not hold a database connection for seconds). Errors are answered inside
        # dispatch, so refusals and their audit rows still commit.
        if not self.uses_database:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # SET LOCAL, as a function that takes a parameter: until this transaction ends.
                timeout = f"{int(settings.FHIR_STATEMENT_TIMEOUT_MS)}ms"
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Say which application called on every audit row written during this request.
        if isinstance(request.auth, AccessToken):
            name = request.auth.application.name if request.auth.application_id else ""
            self._audit_token = audit_context.activate(replace(audit_context.current(), api_client=name))

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        token = getattr(self, "_audit_token", None)
        if token is not None:
            audit_context.reset(token)
            self._audit_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    def caller(self) -> Caller:
        return Caller(user=None if system_token(self.request) else self.request.user)

    def base_url(self) -> str:
        return self.request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("/metadata")


def refused(message: str) -> FHIRError:
    return FHIRError(message, status_code=403, code="forbidden")


def _not_found(patient_id: int) -> FHIRError:
    return FHIRError(f"Patient/{patient_id} is not known.", status_code=404, code="not-found")


def open_patient(caller: Caller, patient_id: int, *, minimum: Level = Level.DEMOGRAPHIC) -> Patient:
    """The patient, if the caller may see them; the access (or refusal) is audited."""
    try:
        if caller.is_system:
            patient = Patient.objects.get(pk=patient_id)
            audit_record(user=None, action=Action.VIEW, patient_id=patient.pk, obj=patient)
            return patient
        return selectors.patient_for_user(caller.user, patient_id, minimum=minimum).patient
    except Patient.DoesNotExist as exc:
        raise _not_found(patient_id) from exc
    except NoRelationship as exc:
        raise refused(
            "You have no care relationship with this patient. Emergency (break-glass) access is given "
            "only in the record pages, with a stated reason."
        ) from exc


def _business_rule(exc: RecordError) -> FHIRError:
    return FHIRError(
        exc.message, status_code=422, code="business-rule", expression=fhir.expression_for(exc.field)
    )


_VERSION = re.compile(r'^(?:W/)?"(\d+)"$')


def expected_version(request: Request, resource: Any) -> int:
    """The version the client based its change on: If-Match W/"n", else meta.versionId."""
    header = request.headers.get("If-Match", "").strip()
    if header:
        match = _VERSION.match(header)
        if match is None:
            raise FHIRError('If-Match must be a version ETag such as W/"3".', code="invalid")
        return int(match.group(1))
    version = resource.meta.versionId if resource.meta else None
    if version is None or not str(version).isdigit():
        raise FHIRError(
            'Say which version you changed: send If-Match: W/"<versionId>" or meta.versionId.',
            code="required",
            expression=["Patient.meta.versionId"],
        )
    return int(version)


def _versions_in(header: str) -> set[str]:
    """The version numbers (or "*") an If-Match / If-None-Match header lists; weak or strong tags alike."""
    found = set()
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            found.add("*")
        elif match := _VERSION.match(tag):
            found.add(match.group(1))
    return found


def with_preconditions(request: Request, response: Response) -> Response:
    """A read honouring If-Match (412 unless the resource is at a listed version) and If-None-Match
    (304 when the client already holds this version), by the response's ETag."""
    current = _VERSION.match(response.get("ETag", ""))
    version = current.group(1) if current else None
    if_match = request.headers.get("If-Match", "").strip()
    if if_match:
        listed = _versions_in(if_match)
        if version is None or not ({"*", version} & listed):
            raise FHIRError(
                f"The resource is at version {version}, not the one If-Match names: read it again.",
                status_code=412,
                code="conflict",
            )
    if_none_match = request.headers.get("If-None-Match", "").strip()
    if if_none_match and version is not None and {"*", version} & _versions_in(if_none_match):
        not_modified = Response(status=304)
        for header in ("ETag", "Last-Modified"):
            not_modified[header] = response[header]
        return not_modified
    return response


def patient_response(patient: Patient, *, status: int = 200) -> Response:
    response = Response(fhir.patient_resource(patient), status=status)
    response["ETag"] = etag(patient.version)
    response["Last-Modified"] = http_date(patient.updated_at.timestamp())
    return response


class CapabilityView(FHIRView):
    # The CapabilityStatement describes the server, not patients: anyone may read it.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        statement = capability_statement(base_url=self.base_url(), date=timezone.localdate().isoformat())
        return Response(validated(statement))


class PatientTypeView(FHIRView):
    """GET /Patient (search) and POST /Patient (create)."""

    def get(self, request: Request) -> Response:
        search = fhir.parse_search(bounded_query(request.query_params))
        queryset = fhir.search_queryset(search)
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
            raise _business_rule(exc) from exc
        response = patient_response(patient, status=201)
        response["Location"] = f"{self.base_url()}/Patient/{patient.pk}"
        return response


class PatientInstanceView(FHIRView):
    """GET /Patient/<id> (read) and PUT /Patient/<id> (version-aware update)."""

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
            raise _business_rule(exc) from exc
        return patient_response(patient)


class UnknownEndpointView(FHIRView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    uses_database = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise FHIRError(f"No FHIR endpoint at {request.path}.", status_code=404, code="not-supported")
