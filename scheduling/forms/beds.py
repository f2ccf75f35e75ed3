"""The bed board's forms: a bed request (from the patient page or by the bed manager), allocating a
bed to it, the patient's arrival, cancelling, and a bed's own state (block or close with a reason).
The services decide what is refused; the forms only lay the answers out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.forms import NHSFormMixin
from records.forms.common import CHOOSE, required_choice
from records.models import Bed, Specialty, Ward
from scheduling.models import BedCondition, BedRequestSource


def _wards() -> Any:
    return Ward.objects.filter(active=True).select_related("site").order_by("site__name", "name")


class BedRequestForm(NHSFormMixin, forms.Form):
    # No pre-selected source or specialty: a default would be saved unread.
    source = forms.ChoiceField(
        label="Where the patient is coming from",
        choices=BedRequestSource.choices,
        widget=forms.RadioSelect,
        error_messages=required_choice("Select where the patient is coming from"),
    )
    from_ward = forms.ModelChoiceField(
        queryset=Ward.objects.none(),
        required=False,
        label="Ward the patient is on now",
        empty_label="Not on a ward",
        help_text="Needed when the patient is coming from another ward",
    )
    specialty = forms.ChoiceField(
        choices=[("", CHOOSE), *Specialty.choices], error_messages=required_choice("Select a specialty")
    )
    wanted_ward = forms.ModelChoiceField(
        queryset=Ward.objects.none(), required=False, label="Ward wanted", empty_label="Any ward"
    )
    needs = forms.CharField(
        label="Needs",
        max_length=300,
        required=False,
        help_text="Side room, cardiac monitoring, bariatric bed...",
    )
    urgent = forms.BooleanField(label="Urgent", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["from_ward"].queryset = _wards()
        fields["wanted_ward"].queryset = _wards()


class AllocateForm(NHSFormMixin, forms.Form):
    bed = forms.ModelChoiceField(
        queryset=Bed.objects.none(),
        label="Free bed",
        empty_label=CHOOSE,
        error_messages={
            **required_choice("Select a free bed"),
            "invalid_choice": "That bed is no longer free. Select another bed.",
        },
        help_text="Only free beds are listed (available, empty, promised to nobody), the ward wanted first",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, beds: list[Bed], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any active bed passes the field (one query): the service refuses a taken one with a clear
        # message, where a stale list would only say "not one of the choices".
        fields: Any = self.fields
        fields["bed"].queryset = Bed.objects.filter(active=True).select_related("ward", "bay")
        self.set_beds(beds)

    def set_beds(self, beds: list[Bed]) -> None:
        field: Any = self.fields["bed"]
        field.choices = [("", CHOOSE), *((b.pk, f"{b.ward.name}: {b}") for b in beds)]


class ArrivedForm(NHSFormMixin, forms.Form):
    consultant = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Consultant",
        empty_label=CHOOSE,
        help_text="Needed when the patient is not yet admitted",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["consultant"].queryset = User.objects.filter(role=Role.DOCTOR, is_active=True).order_by(
            "last_name"
        )


class ReasonForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(label="Reason", max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput)


class CloseBedForm(ReasonForm):
    condition = forms.ChoiceField(
        label="What to do with the bed",
        choices=[
            (BedCondition.BLOCKED, "Block it for now (a leak, infection control)"),
            (BedCondition.CLOSED, "Close it (out of use)"),
        ],
        widget=forms.RadioSelect,
        error_messages=required_choice("Select block or close"),
    )
    field_order = ["condition", "reason", "version"]


class VersionForm(NHSFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class OccupancyForm(NHSFormMixin, forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            if day and not date(2000, 1, 1) <= day <= timezone.localdate() + timedelta(days=366):
                self.add_error(name, "Choose a date between 2000 and a year from today.")
                return data
        if start and end:
            if end < start:
                self.add_error("end", "The end date must be on or after the start date.")
            elif (end - start).days >= 93:
                self.add_error("end", "Choose a range of 93 days or fewer.")
        return data
