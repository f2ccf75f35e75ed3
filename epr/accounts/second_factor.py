"""Who must pass a second factor, and whether this session has."""

from __future__ import annotations

from typing import Any

from epr.accounts.roles import Role


def second_factor_required(user: Any) -> bool:
    """System administrators, and anyone who can open Django admin, must pass TOTP."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (getattr(user, "role", "") == Role.ADMIN or user.is_staff or user.is_superuser)
    )


def second_factor_pending(user: Any) -> bool:
    """True for a signed-in user who must pass a second factor and has not in this session.

    django-otp's middleware gives the user is_verified(); without it (the middleware not run)
    the session counts as unverified, so a misconfiguration refuses rather than lets through.
    """
    if not second_factor_required(user):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (callable(is_verified) and is_verified())
