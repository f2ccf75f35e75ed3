from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from epr.accounts.models import ApiClient, User
from epr.accounts.roles import Role
from epr.accounts.services import user_set_role

if TYPE_CHECKING:
    # The admin classes are generic only in the stubs; at run time they take no type argument.
    _StaffAdminBase = UserAdmin[User]
    _ApiClientAdminBase = admin.ModelAdmin[ApiClient]
else:
    _StaffAdminBase = UserAdmin
    _ApiClientAdminBase = admin.ModelAdmin

_RoleAction = Callable[["admin.ModelAdmin[User]", HttpRequest, "QuerySet[User]"], None]


def _set_role_action(role: Role) -> _RoleAction:
    @admin.action(description=f"Set role: {role.label}")
    def set_role(modeladmin: admin.ModelAdmin[User], request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            user_set_role(user=user, role=role.value)

    set_role.__name__ = f"set_role_{role.value}"
    return set_role


@admin.register(User)
class StaffAdmin(_StaffAdminBase):
    actions = [_set_role_action(role) for role in Role]
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Role", {"fields": ("role", "grade", "professional_registration")}),
    )
    # The role decides the permission group; change it through user_set_role, which keeps both in step.
    readonly_fields = ("role",)


@admin.register(ApiClient)
class ApiClientAdmin(_ApiClientAdminBase):
    list_display = ("application", "allowed_scopes", "created_at")
