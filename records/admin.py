"""Django admin for what administrators configure without code: clinical note templates."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from epr.accounts.roles import CLINICAL_ROLES, Role
from records.models import NoteTemplate

ROLE_CHOICES = [(r.value, r.label) for r in Role if r in CLINICAL_ROLES]


class PrettyJSONField(forms.JSONField):
    """Shows the field list indented, one attribute a line, so it can be edited by hand."""

    def prepare_value(self, value):
        if isinstance(value, str):  # re-shown as typed when it did not parse
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class NoteTemplateForm(forms.ModelForm):
    fields = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"}),
        help_text=NoteTemplate._meta.get_field("fields").help_text,
    )
    writer_roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=NoteTemplate._meta.get_field("writer_roles").help_text,
    )
    countersign_roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=NoteTemplate._meta.get_field("countersign_roles").help_text,
    )

    class Meta:
        model = NoteTemplate
        fields = ["name", "note_type", "description", "active", "fields", "writer_roles", "countersign_roles"]


@admin.register(NoteTemplate)
class NoteTemplateAdmin(SimpleHistoryAdmin):
    form = NoteTemplateForm
    list_display = ("name", "note_type", "active", "version", "updated_at")
    list_filter = ("note_type", "active")
    search_fields = ("name",)
    readonly_fields = ("version", "updated_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # notes refer to their template: untick "active" instead

    def save_model(self, request, obj, form, change) -> None:
        if change and form.has_changed():
            obj.version += 1
        obj._change_reason = "Changed in admin" if change else "Created in admin"
        super().save_model(request, obj, form, change)
