"""The FHIR view kit every app's resources use, and the kernel's own endpoints: the
CapabilityStatement, transaction Bundles and the 404 for anything unknown.

Two kinds of caller:
- a member of staff (browser session, or a token bound to a user): patient-level access through the
  record's one access door, and the same model permissions for writes as the pages;
- a system client (client-credentials token, no user): allowed by the token's SMART-style system
  scopes, with no care relationship; its application name goes on every audit row.
"""

from __future__ import annotations

import re
from contextvars import Token
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from epr.audit import context as audit_context
from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.capability import capability_statement
from epr.fhir.errors import FHIRError
from epr.fhir.registry import fhir_resource, fhir_resources
from epr.fhir.renderers import FHIRJSONParser, FHIRJSONRenderer, PlainJSONParser, PlainJSONRenderer
from epr.fhir.resources import parse_resource, validated
from epr.fhir.transactions import AuditedRefusal, Outcomes, TransactionContext, TransactionPart

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
        needed = scopes_for(getattr(view, "resource_type", ""), request.method or "GET")
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
    schema = None  # described by the CapabilityStatement, not the OpenAPI schema of the JSON APIs
    renderer_classes = [FHIRJSONRenderer, PlainJSONRenderer]
    parser_classes = [FHIRJSONParser, PlainJSONParser]
    permission_classes = [StaffOrScopedClient]
    resource_type = ""

    uses_database = True  # False where the view reads nothing from the database
    _audit_token: Token[audit_context.AuditContext] | None = None

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


_VERSION = re.compile(r'^(?:W/)?"(\d+)"$')


def expected_version(request: Request, resource: Any, resource_type: str = "Patient") -> int:
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
            expression=[f"{resource_type}.meta.versionId"],
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


class CapabilityView(FHIRView):
    # The CapabilityStatement describes the server, not patients: anyone may read it.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        statement = capability_statement(base_url=self.base_url(), date=timezone.localdate().isoformat())
        return Response(validated(statement))


class UnknownEndpointView(FHIRView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    uses_database = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise FHIRError(f"No FHIR endpoint at {request.path}.", status_code=404, code="not-supported")


class StaffOrWritingClient(BasePermission):
    """A transaction may hold several resource types: each entry's scope is checked by the view."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = system_token(request)
        if token is None:
            return bool(request.user and request.user.is_authenticated)
        return any(scope.startswith("system/") and scope.endswith(".write") for scope in token.scope.split())


def _transaction_parts() -> list[tuple[str, TransactionPart]]:
    """(resource type, its part) for each type a transaction may create, in the order they run."""
    parts = [(r.type, r.transaction) for r in fhir_resources() if r.transaction is not None]
    return sorted(parts, key=lambda pair: pair[1].order)


def _with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'AEIOU' else 'a'} {noun}"


def _either(nouns: list[str]) -> str:
    named = [_with_article(noun) for noun in nouns]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"


class TransactionView(FHIRView):
    """POST / with a transaction Bundle of the types registered for transactions: all saved, or none."""

    permission_classes = [StaffOrWritingClient]
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
                outcomes = self._record(TransactionContext(caller, self.base_url(), entries))
        except AuditedRefusal as refusal:
            # The refusal's audit row went with the rolled-back bundle: keep it.
            audit_record(user=caller.user, action=Action.DENIED, patient_id=refusal.patient_id)
            raise
        return Response(validated(self._response_bundle(outcomes)))

    def _record(self, context: TransactionContext) -> Outcomes:
        outcomes: Outcomes = {}
        for resource_type, part in _transaction_parts():
            items = [
                (index, entry)
                for index, entry in enumerate(context.entries)
                if entry.resource.get_resource_type() == resource_type
            ]
            outcomes.update(part.record(context, items))
        return outcomes

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
        types = [resource_type for resource_type, _ in _transaction_parts()]
        if entry.request.method != "POST" or entry.request.url not in types:
            raise fail(f"Only POST of {_either(types)} is supported in a transaction.", "request")
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
        part = fhir_resource(kind)
        if part is not None and part.transaction is not None:
            part.transaction.check_staff(caller, index)

    def _response_bundle(self, outcomes: Outcomes) -> dict[str, Any]:
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
