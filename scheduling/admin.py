"""Django admin for clinics and their session templates: an administrator sets a clinic up (its staff
group is made with it, and its members chosen here) and says how its sessions repeat. A template the
recurrence rules refuse (an anchor on the wrong weekday, no nth for a monthly session, slots that do
not fit) is refused with the rule's own message. Sessions are made from the templates by the daily
beat task; changes are in history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from simple_history.admin import SimpleHistoryAdmin

from epr.accounts.models import User
from scheduling.models import Clinic, SessionTemplate
from scheduling.services import clinics as services


class ClinicForm(forms.ModelForm):  # type: ignore[type-arg]
    staff = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("last_name", "first_name"),
        required=False,
        widget=FilteredSelectMultiple("staff", is_stacked=False),
        help_text="The clinic's staff: they see the patients booked into it while the appointment lasts.",
    )

    class Meta:
        model = Clinic
        fields = ("code", "name", "specialty", "consultant", "site", "location", "kind", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["staff"].initial = self.instance.staff_group.user_set.all()


class SessionTemplateForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = SessionTemplate
        exclude: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        candidate = SessionTemplate(**{k: v for k, v in data.items() if k != "id"})
        problem = services.template_problem(candidate)
        if problem:
            raise forms.ValidationError(problem)
        return data


class SessionTemplateInline(admin.StackedInline):  # type: ignore[type-arg]
    model = SessionTemplate
    form = SessionTemplateForm
    extra = 0


@admin.register(Clinic)
class ClinicAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    form = ClinicForm
    list_display = ("name", "code", "specialty", "consultant", "site", "kind", "active")
    list_filter = ("specialty", "kind", "active", "site")
    search_fields = ("name", "code")
    inlines = [SessionTemplateInline]

    def save_model(self, request: Any, obj: Clinic, form: Any, change: bool) -> None:
        if not change:
            obj.staff_group = services.clinic_group_create(code=obj.code)
        super().save_model(request, obj, form, change)
        obj.staff_group.user_set.set([obj.consultant, *form.cleaned_data.get("staff", [])])


@admin.register(SessionTemplate)
class SessionTemplateAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    form = SessionTemplateForm
    list_display = (
        "clinic",
        "weekday",
        "starts",
        "ends",
        "recurrence",
        "valid_from",
        "valid_until",
        "active",
    )
    list_filter = ("recurrence", "active", "clinic")
