"""Answering an alert: the response to a NEWS2 escalation, the review that closes it, and the plain
acknowledgement of overdue observations."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from epr.forms import DateTimeInput, NHSFormMixin
from records.models import AlertOutcome


def _now_local():
    return timezone.localtime().replace(second=0, microsecond=0)


class AlertResponseForm(NHSFormMixin, forms.Form):
    informed = forms.CharField(
        label="Who did you inform?",
        max_length=200,
        help_text="The named clinician or team, for example Dr Khan (medical registrar) or critical care "
        "outreach",
        error_messages={"required": "Enter the name of the clinician or team you informed"},
    )
    informed_at = forms.DateTimeField(
        label="When did you inform them?",
        widget=DateTimeInput,
        error_messages={
            "required": "Enter when you informed them",
            "invalid": "Enter the time you informed them as a date and time",
        },
    )
    outcome = forms.ChoiceField(
        label="What happened?",
        choices=AlertOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what happened"},
    )
    note = forms.CharField(
        label="Action taken (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["informed_at"].initial = _now_local()
        self.fields["note"].show_optional = False


class AlertReviewForm(NHSFormMixin, forms.Form):
    reviewed_by = forms.CharField(
        label="Who reviewed the patient?",
        max_length=200,
        error_messages={"required": "Enter the name of the clinician who reviewed the patient"},
    )
    reviewed_at = forms.DateTimeField(
        label="When?",
        widget=DateTimeInput,
        error_messages={
            "required": "Enter when the patient was reviewed",
            "invalid": "Enter the time of the review as a date and time",
        },
    )
    note = forms.CharField(
        label="Outcome of the review, or the plan",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter the outcome of the review or the plan"},
    )

    def __init__(self, *args, reviewer: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewed_by"].initial = reviewer
        self.fields["reviewed_at"].initial = _now_local()


class AlertAcknowledgeForm(NHSFormMixin, forms.Form):
    note = forms.CharField(label="Action taken (optional)", required=False, max_length=1000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].show_optional = False
