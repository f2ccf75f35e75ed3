"""Login lockout: by username alone (one account guessed from many addresses) and, with a higher
limit, by client address alone (one address spraying many usernames)."""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


# django-axes ships no type information, so its base class is Any to mypy.
class UsernameOrAddressLockoutHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """Axes compares one count with one limit; this reports the username's failures, or the limit
    itself once the address has passed its own (larger) limit, so either condition locks.

    The address is the one epr.audit.middleware.client_address believes (AXES_CLIENT_IP_CALLABLE).
    """

    def _failures_by_parameter(
        self, request: HttpRequest, credentials: dict[str, Any] | None
    ) -> dict[str, int]:
        parameters = get_lockout_parameters(request, credentials)
        attempts = self.get_user_attempts(request, credentials)
        return {
            str(parameter): qs.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for parameter, qs in zip(parameters, attempts, strict=True)
        }

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        counts = self._failures_by_parameter(request, credentials)
        by_username = counts.get("username", 0)
        if counts.get("ip_address", 0) >= settings.EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT:
            limit: int = get_failure_limit(request, credentials)
            return max(by_username, limit)
        return by_username

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        # A successful login clears that username's failures only: an attacker who signs in to an
        # account of their own must not wipe the count of a spray from the same address.
        parameters = get_lockout_parameters(request, credentials)
        attempts: dict[str, Any] = dict(
            zip(map(str, parameters), self.filter_user_attempts(request, credentials), strict=True)
        )
        if "username" not in attempts:
            return 0
        count: int
        count, _ = attempts["username"].delete()
        return count
