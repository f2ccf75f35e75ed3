"""Who is acting and through which channel, for the audit rows written during one request or task."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


class Channel:
    PAGE = "page"
    API = "api"
    EXPORT = "export"
    SYSTEM = "system"


@dataclass(frozen=True)
class AuditContext:
    channel: str = Channel.SYSTEM
    client_address: str | None = None
    api_client: str = ""
    # The page or API path (no query string: searches carry names), so the access log can say what
    # was looked at ("NEWS2 chart", "FHIR Observation search").
    path: str = ""


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())  # noqa: B039


def current() -> AuditContext:
    return _current.get()


def activate(context: AuditContext) -> Token[AuditContext]:
    return _current.set(context)


def reset(token: Token[AuditContext]) -> None:
    _current.reset(token)
