from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from epr.accounts.models import ApiClient, User


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Role", {"fields": ("role", "professional_registration")}))


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ("application", "allowed_scopes", "created_at")
