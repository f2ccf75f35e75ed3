"""Recording a resuscitation and treatment escalation decision."""

from __future__ import annotations

from django import forms

from epr.forms import DateInput, NHSFormMixin
from records.models import CPRDecision, EscalationLevel


class EscalationPlanForm(NHSFormMixin, forms.Form):
    cpr_decision = forms.ChoiceField(
        label="CPR decision",
        choices=CPRDecision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the CPR decision"},
    )
    escalation_level = forms.ChoiceField(
        label="Treatment escalation",
        choices=EscalationLevel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select the level of treatment escalation"},
    )
    decided_by = forms.CharField(
        label="Senior clinician responsible",
        max_length=200,
        help_text="Name and grade, for example Dr A Khan, consultant",
        error_messages={"required": "Enter the senior clinician responsible for the decision"},
    )
    discussed_with = forms.CharField(
        label="Discussed with",
        max_length=300,
        help_text="The patient, or who was consulted and why not the patient",
        error_messages={"required": "Enter who the decision was discussed with"},
    )
    review_date = forms.DateField(
        label="Review date (optional)",
        required=False,
        widget=DateInput,
        error_messages={"invalid": "Enter the review date as a real date"},
    )
    note = forms.CharField(
        label="Notes (optional)", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("review_date", "note"):
            self.fields[name].show_optional = False


class ExpectedDischargeForm(NHSFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    expected = forms.DateField(
        label="Expected date of discharge",
        required=False,
        widget=DateInput,
        help_text="Leave empty if not yet known",
        error_messages={"invalid": "Enter the expected date of discharge as a real date"},
    )
