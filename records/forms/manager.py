"""Forms of the managers' pages: the access-log filter and the break-glass review."""

from __future__ import annotations

from django import forms

from epr.audit.models import Action
from epr.audit.selectors import AccessLogFilter
from epr.forms import DateInput, NHSFormMixin
from records.models import BreakGlassOutcome


class AccessLogFilterForm(NHSFormMixin, forms.Form):
    user = forms.ChoiceField(label="User", required=False)
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *Action.choices])
    on = forms.DateField(label="Date", required=False, widget=DateInput)

    def __init__(self, *args, usernames: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "Anyone"), *((u, u) for u in usernames)]
        for field in self.fields.values():
            field.show_optional = False  # every filter is optional; "(optional)" would be noise

    def filters(self) -> AccessLogFilter:
        """The filters to apply; an invalid one is dropped (its error is shown beside it)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return AccessLogFilter(
            username=data.get("user", ""), action=data.get("action", ""), on=data.get("on")
        )


class BreakGlassReviewForm(NHSFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label="Was this access appropriate?",
        choices=BreakGlassOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether the access was appropriate"},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required if the access was inappropriate: what the Caldicott guardian needs to know",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].show_optional = False  # required when inappropriate; the hint says so
