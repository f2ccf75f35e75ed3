from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from epr.parsing import has_nul

# Set on the responses page_not_found renders, so FriendlyNotFoundMiddleware leaves them alone.
_ERROR_PAGE_MARK = "epr_error_page"


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 every user meets (handler404, and FriendlyNotFoundMiddleware when DEBUG is on).

    Never lists URL patterns or the exception's text: both tell a stranger how the site is built.
    FHIR clients get an OperationOutcome, as every other FHIR error is.
    """
    if request.path.startswith("/fhir"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "error", "code": "not-found", "diagnostics": "No such resource or endpoint."}
            ],
        }
        return JsonResponse(body, status=404, content_type="application/fhir+json")
    response = render(request, "404.html", status=404)
    setattr(response, _ERROR_PAGE_MARK, True)
    return response


class FriendlyNotFoundMiddleware:
    """With DEBUG on, Django answers a 404 with its technical page, which lists every URL pattern.
    This swaps it for the NHS.UK 404 page, so `make run` shows what a user would see. Does nothing
    when DEBUG is off (handler404 already renders the page) and keeps the technical 500 for developers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            # No view ran: the URL did not resolve, so this is Django's technical "patterns" page.
            and getattr(request, "resolver_match", None) is None
            and not getattr(response, _ERROR_PAGE_MARK, False)
        ):
            return page_not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None


class RefuseNulBytesMiddleware:
    """A NUL byte in the path, a query string or a form field is refused with a 400 before any view
    sees it (PostgreSQL cannot store one, so it would otherwise end in a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        params = [*request.GET.lists()]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            params += [*request.POST.lists()]
        in_path = has_nul(request.path)
        if in_path or any(has_nul(key) or any(has_nul(v) for v in values) for key, values in params):
            message = "The request contains a NUL character, which no field may hold."
            if request.path.startswith("/fhir"):
                body = {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "invalid", "diagnostics": message}],
                }
                return JsonResponse(body, status=400, content_type="application/fhir+json")
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)


# No inline scripts, handlers or styles anywhere (htmx's indicator style is turned off in base.html):
# an injected <script> or on...= attribute cannot run. Images and fonts come from the site itself.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
# The record needs none of these browser features; a ward tablet's camera and microphone stay off.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "serial",
        "usb",
    )
)
# Public, patient-free files (WhiteNoise's STATIC_URL and WHITENOISE_ROOT) may be cached as usual.
_CACHEABLE_PREFIXES = ("/static/", "/assets/")


def _never_cached(request: HttpRequest) -> bool:
    """Whether the response may carry patient data: every authenticated request, and all of the API
    and OAuth endpoints (token-authenticated clients are not a Django session user)."""
    path = request.path
    if path.startswith(_CACHEABLE_PREFIXES):
        return False
    if path == "/fhir" or path.startswith(("/fhir/", "/o/")):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response, and `Cache-Control: no-store`
    (ASVS 14.3.2) on every response that may hold patient data, so that neither a shared ward
    browser's cache nor a proxy keeps a copy. Outermost, so it also marks responses that other
    middleware replaced (FHIR OperationOutcomes, redirects, error pages)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if _never_cached(request):
            # Replaces whatever a view set: patient data is never stored, however it was served.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
            response.headers.pop("Expires", None)
        return response
