"""Every error under /fhir is an OperationOutcome, whoever produced it.

The API views answer their own errors as OperationOutcomes (epr.fhir.errors). This catches what they
never see: a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a form body another middleware failed to read,
an HTML error page from any middleware, and a 500 (whose technical page would otherwise show a
stack trace and settings when DEBUG is on).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from epr.fhir.errors import operation_outcome
from epr.fhir.renderers import FHIR_CONTENT_TYPE

# What a client is told for an error that came without an OperationOutcome: (issue code, diagnostics).
_GENERIC = {
    400: ("invalid", "The request could not be read."),
    401: ("login", "Sign in, or send a bearer token."),
    403: ("forbidden", "The request was refused."),
    404: ("not-found", "No such resource or endpoint."),
    405: ("not-supported", "That method is not supported here."),
    413: ("too-costly", "The request body is too large."),
    415: ("not-supported", "Send the body as application/fhir+json."),
}
_SERVER_ERROR = ("exception", "The server failed to handle the request. The fault has been logged.")


def is_fhir_path(path: str) -> bool:
    return path == "/fhir" or path.startswith("/fhir/")


def outcome_response(status: int, diagnostics: str, *, code: str) -> JsonResponse:
    return JsonResponse(
        operation_outcome(diagnostics, code=code), status=status, content_type=FHIR_CONTENT_TYPE
    )


def body_too_large(request: HttpRequest) -> bool:
    """Whether the declared body is over Django's limit (read, it would raise RequestDataTooBig)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django itself treats an unreadable length as no body
    return limit is not None and length > limit


def too_large_response() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return outcome_response(
        413, f"The request body is over the limit of {limit:,} bytes: send less at a time.", code="too-costly"
    )


class FHIRErrorMiddleware:
    """Outermost but for security headers, so it sees every response under /fhir."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_fhir_path(request.path):
            return self.get_response(request)
        if body_too_large(request):
            return too_large_response()
        response = self.get_response(request)
        if response.status_code < 400 or _is_json(response):
            return response
        code, diagnostics = _GENERIC.get(response.status_code, _SERVER_ERROR)
        if response.status_code < 500 and response.status_code not in _GENERIC:
            code, diagnostics = "invalid", "The request was refused."
        replacement = outcome_response(response.status_code, diagnostics, code=code)
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                replacement[header] = response[header]
        return replacement


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith((FHIR_CONTENT_TYPE, "application/json"))
