from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from epr.audit import context

API_PREFIXES = ("/fhir/", "/api/", "/o/")


def client_address(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is the proxy's address behind a load balancer; the first forwarded hop is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = context.Channel.API if request.path.startswith(API_PREFIXES) else context.Channel.PAGE
        token = context.activate(
            context.AuditContext(channel=channel, client_address=client_address(request))
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
