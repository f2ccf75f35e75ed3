from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from epr.accounts.models import ApiClient, User
from epr.accounts.roles import Role
from epr.accounts.services import user_set_role


def _set_role_action(role: Role):
    def set_role(modeladmin, request, queryset) -> None:
        for user in queryset:
            user_set_role(user=user, role=role.value)

    set_role.__name__ = f"set_role_{role.value}"
    set_role.short_description = f"Set role: {role.label}"
    return set_role


@admin.register(User)
class StaffAdmin(UserAdmin):
    actions = [_set_role_action(role) for role in Role]
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Role", {"fields": ("role", "professional_registration")}))
    # The role decides the permission group; change it through user_set_role, which keeps both in step.
    readonly_fields = ("role",)


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("application", "allowed_scopes", "created_at")
