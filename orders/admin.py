"""Django admin for the order catalogue: an administrator adds a test, its questions and order sets,
or retires one (inactive: past orders keep pointing at it), without code. Changes are in history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from epr.accounts.roles import CLINICAL_ROLES, Role, StaffGrade
from epr.terminology.rules import is_valid_concept_id
from orders.models import OrderableTest, OrderSet, OrderSetItem, TestQuestion
from orders.rules.checks import GRADE_RANK
from orders.services.catalogue import loinc_valid

ROLE_CHOICES = [(r.value, r.label) for r in Role if r in CLINICAL_ROLES]
GRADE_CHOICES = [("", "Any")] + [(g.value, g.label) for g in StaffGrade if g.value in GRADE_RANK]


class OrderableTestForm(forms.ModelForm):  # type: ignore[type-arg]
    ordering_roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)
    min_referrer_grade = forms.ChoiceField(choices=GRADE_CHOICES, required=False)

    class Meta:
        model = OrderableTest
        exclude: tuple[str, ...] = ()

    def clean_snomed_code(self) -> str:
        code: str = self.cleaned_data["snomed_code"].strip()
        if not is_valid_concept_id(code):
            raise forms.ValidationError("This is not a SNOMED CT concept id: its check digit is wrong.")
        return code

    def clean_loinc_code(self) -> str:
        code: str = self.cleaned_data["loinc_code"].strip()
        if code and not loinc_valid(code):
            raise forms.ValidationError("This is not a LOINC code: its check digit is wrong.")
        return code


class QuestionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TestQuestion
    extra = 0
    fields = ("position", "key", "text", "answer_type", "choices", "required", "applies")


@admin.register(OrderableTest)
class OrderableTestAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    form = OrderableTestForm
    list_display = (
        "name",
        "code",
        "department",
        "snomed_code",
        "loinc_code",
        "retest_interval_hours",
        "active",
    )
    list_filter = ("department", "active")
    search_fields = ("name", "code", "synonyms")
    inlines = [QuestionInline]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # orders point at tests: retire one by unticking active


class OrderSetItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrderSetItem
    extra = 1
    autocomplete_fields = ("test",)


@admin.register(OrderSet)
class OrderSetAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("name", "code", "specialty", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    inlines = [OrderSetItemInline]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
