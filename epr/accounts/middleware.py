import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from epr.accounts.second_factor import second_factor_pending

# Reachable before the second factor: logging in and out, the TOTP page itself, and static files.
OTP_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/assets/")
# FHIR answers for itself: VerifiedSessionAuthentication refuses the session with an OperationOutcome.
FHIR_PREFIX = "/fhir"
OAUTH_PREFIX = "/o/"
SECOND_FACTOR_URL = "/accounts/second-factor/"
# When the session's user logged in (epoch seconds), for the absolute lifetime.
LOGIN_AT_SESSION_KEY = "epr_login_at"


def _second_factor_url(next_url: str) -> str:
    return f"{SECOND_FACTOR_URL}?{urlencode({'next': next_url})}"


class AdminSecondFactorMiddleware:
    """A session that must pass a TOTP second factor and has not gets nothing but the TOTP page:
    pages and exports are redirected to it, htmx fragments told to go there, OAuth endpoints refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if (
            not second_factor_pending(getattr(request, "user", None))
            or path.startswith(OTP_EXEMPT_PREFIXES)
            or path.startswith(FHIR_PREFIX)
        ):
            return self.get_response(request)
        if path.startswith(OAUTH_PREFIX):
            body = {"error": "access_denied", "error_description": "Pass the second factor first."}
            return JsonResponse(body, status=403)
        if request.headers.get("HX-Request") == "true":
            # A redirect would be followed inside the XHR and the TOTP page swapped into a fragment:
            # refuse, and have htmx take the whole page there.
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            response = HttpResponse("Pass the second factor first.", status=403, content_type="text/plain")
            response["HX-Redirect"] = _second_factor_url(current.path or "/")
            return response
        return redirect(_second_factor_url(path if request.method == "GET" else "/"))


def record_login_time(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    """user_logged_in receiver: stamp the session with when its user logged in."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_SESSION_KEY] = time.time()


class AbsoluteSessionLifetimeMiddleware:
    """Log out a session SESSION_ABSOLUTE_SECONDS after its login, however busy it has been (the idle
    timeout alone lets a tablet in constant use stay signed in for ever). The request then carries on
    as anonymous, so pages send it to the login page and the API answers 401; nothing is saved."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            logged_in_at = request.session.get(LOGIN_AT_SESSION_KEY)
            # A session with no stamp predates the limit, so its age is unknown: end it too.
            if (
                not isinstance(logged_in_at, int | float)
                or time.time() - logged_in_at > settings.SESSION_ABSOLUTE_SECONDS
            ):
                logout(request)
                if not request.path.startswith((FHIR_PREFIX, OAUTH_PREFIX)):
                    messages.info(
                        request,
                        "You have been logged out because your session reached its time limit. Log in again.",
                    )
        return self.get_response(request)
