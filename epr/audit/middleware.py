from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from epr.audit import context

API_PREFIXES = ("/fhir/", "/api/", "/o/")


def client_address(request: HttpRequest) -> str | None:
    """The client as the trusted proxies saw it. A client can write any X-Forwarded-For it likes, so
    only the hops our own proxies appended (EPR_TRUSTED_PROXY_COUNT of them) are believed."""
    trusted: int = settings.EPR_TRUSTED_PROXY_COUNT
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if trusted and len(hops) >= trusted:
        return hops[-trusted]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = context.Channel.API if request.path.startswith(API_PREFIXES) else context.Channel.PAGE
        token = context.activate(
            context.AuditContext(
                channel=channel,
                client_address=client_address(request),
                # PostgreSQL's jsonb refuses NUL; a path longer than this is no page of ours.
                path=request.path.replace("\x00", "")[:300],
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
