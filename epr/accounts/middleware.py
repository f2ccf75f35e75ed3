from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from epr.accounts.roles import Role

OTP_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/assets/", "/o/", "/fhir/")


class AdminSecondFactorMiddleware:
    """System administrators must pass a TOTP second factor before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.role == Role.ADMIN
            and not user.is_verified()
            and not request.path.startswith(OTP_EXEMPT_PREFIXES)
        ):
            return redirect(f"/accounts/second-factor/?next={request.path}")
        return self.get_response(request)
