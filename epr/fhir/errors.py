"""FHIR errors: every 4xx from the API is an OperationOutcome."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError, transaction
from django.http import Http404
from psycopg.errors import QueryCanceled
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from epr.fhir.renderers import FHIR_CONTENT_TYPE


class FHIRError(Exception):
    def __init__(
        self,
        diagnostics: str,
        *,
        status_code: int = 400,
        code: str = "invalid",
        expression: list[str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.status_code = status_code
        self.code = code
        self.expression = expression or []


def invalid_value(message: str, *expression: str, status: int = 400, code: str = "value") -> FHIRError:
    """A refused value, naming the elements (or search parameters) at fault: 400 "value" unless told."""
    return FHIRError(message, status_code=status, code=code, expression=list(expression))


def operation_outcome(
    diagnostics: str, *, code: str = "invalid", severity: str = "error", expression: list[str] | None = None
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


_DRF_CODES = {
    exceptions.NotAuthenticated: "login",
    exceptions.AuthenticationFailed: "login",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "not-supported",
    exceptions.UnsupportedMediaType: "not-supported",
    exceptions.NotAcceptable: "not-supported",
    exceptions.ParseError: "structure",
    exceptions.Throttled: "throttled",
}


def _as_text(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_as_text(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_as_text(d) for d in detail)
    return str(detail)


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, FHIRError):
        body = operation_outcome(exc.diagnostics, code=exc.code, expression=exc.expression)
        return Response(body, status=exc.status_code, content_type=FHIR_CONTENT_TYPE)
    if isinstance(exc, RequestDataTooBig):  # read by the OAuth authentication before any parser
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = operation_outcome(
            f"The request body is over the limit of {limit:,} bytes: send less at a time.", code="too-costly"
        )
        return Response(body, status=413, content_type=FHIR_CONTENT_TYPE)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many fields in a form body
        body = operation_outcome("The request could not be read.", code="invalid")
        return Response(body, status=400, content_type=FHIR_CONTENT_TYPE)
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled):
        # The statement timeout (FHIRView): the transaction is broken, so nothing of it may commit.
        if transaction.get_connection().in_atomic_block:
            transaction.set_rollback(True)
        body = operation_outcome(
            "The request took too long and was stopped. Narrow the search (fewer values, a patient, "
            "a date range) or try again later.",
            code="too-costly",
        )
        return Response(body, status=503, content_type=FHIR_CONTENT_TYPE, headers={"Retry-After": "30"})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Resource not found")
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = operation_outcome(_as_text(detail), code=code)
    response.content_type = FHIR_CONTENT_TYPE
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response
