from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from oauth2_provider.models import Application

from epr.accounts.models import ApiClient, User
from epr.accounts.roles import Role, group_name, role_permissions


def roles_sync(*, strict: bool = True) -> None:
    """Create one group per role holding exactly the permissions the apps registered for it."""
    by_role = role_permissions()
    wanted = {perm for perms in by_role.values() for perm in perms}
    perm_objects = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" in wanted
    }
    missing = wanted - perm_objects.keys()
    if missing and strict:
        raise LookupError(f"Role permissions not found: {sorted(missing)}")
    for role, perms in by_role.items():
        group, _ = Group.objects.get_or_create(name=group_name(role))
        group.permissions.set([perm_objects[p] for p in perms if p in perm_objects])


def roles_sync_after_migrate(sender: Any, **kwargs: Any) -> None:
    # post_migrate comes once per app, after that app's permissions exist; the last call sees all.
    roles_sync(strict=False)


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}")
    role_groups = Group.objects.filter(name__startswith="role:")
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get_or_create(name=group_name(role))[0])
    user.role = role
    user.save(update_fields=["role"])
    return user


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    grade: str = "",
) -> User:
    user = User(username=username, first_name=first_name, last_name=last_name, email=email, grade=grade)
    user.set_password(password)
    user.is_staff = role == Role.ADMIN
    user.is_superuser = False
    user.save()
    return user_set_role(user=user, role=role)


@transaction.atomic
def api_client_create(*, name: str, scopes: list[str]) -> tuple[ApiClient, str]:
    """Register a client-credentials client; returns it with its secret, which is shown only once."""
    secret = secrets.token_urlsafe(32)
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    client = ApiClient.objects.create(application=application, allowed_scopes=" ".join(scopes))
    return client, secret
