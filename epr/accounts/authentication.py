"""API authentication: a browser session counts only once it has passed any second factor it needs."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from epr.accounts.second_factor import second_factor_pending


class VerifiedSessionAuthentication(SessionAuthentication):
    """DRF's session authentication, refusing a session that has skipped its TOTP page.

    The middleware cannot answer for /fhir/ (FHIR clients need an OperationOutcome), so the refusal is
    here: AuthenticationFailed becomes a 401 OperationOutcome through the FHIR exception handler.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is not None and second_factor_pending(request._request.user):
            raise exceptions.AuthenticationFailed(
                "This session has not passed its second factor: complete it at /accounts/second-factor/."
            )
        return result
