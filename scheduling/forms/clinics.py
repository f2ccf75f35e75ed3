"""Booking's forms: the free-slot search, booking (a note), cancelling and moving an appointment
(who asked and why), its note, a session cancelled or reduced, and a theatre case. The services
decide what is refused; the forms only lay the answers out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from epr.forms import DateInput, NHSFormMixin
from records.forms.common import required_choice
from records.models import Specialty
from scheduling.models import CancelledBy, SlotType
from scheduling.selectors.clinics import LONGEST_SEARCH_DAYS, SlotSearch

ANY = [("", "Any")]


class SlotSearchForm(NHSFormMixin, forms.Form):
    specialty = forms.ChoiceField(label="Specialty", choices=ANY + list(Specialty.choices), required=False)
    slot_type = forms.ChoiceField(
        label="Type of appointment", choices=ANY + list(SlotType.choices), required=False
    )
    consultant = forms.TypedChoiceField(label="Consultant", coerce=int, empty_value=None, required=False)
    date_from = forms.DateField(
        label="From", widget=DateInput, required=False, help_text="Leave blank for today"
    )
    date_to = forms.DateField(
        label="To", widget=DateInput, required=False, help_text="Leave blank for six weeks on"
    )

    def __init__(self, *args: Any, consultants: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        consultant = cast(forms.ChoiceField, self.fields["consultant"])
        consultant.choices = ANY + [(c.pk, c.get_full_name()) for c in consultants]
        for name in ("specialty", "slot_type", "consultant"):
            self.fields[name].show_optional = False  # type: ignore[attr-defined]
        for name in ("date_from", "date_to"):
            self.fields[name].show_optional = False  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "The end date must be on or after the start date")
        elif first and last and (last - first).days > LONGEST_SEARCH_DAYS:
            self.add_error("date_to", "Search a year at most")
        if first and first < timezone.localdate() - timedelta(days=1):
            self.add_error("date_from", "Free slots are in the future: choose today or later")
        horizon = timezone.localdate() + timedelta(days=LONGEST_SEARCH_DAYS)
        for name in ("date_from", "date_to"):
            if data.get(name) and data[name] > horizon and name not in self.errors:
                self.add_error(name, "Search within a year of today")
        return data

    def search(self) -> SlotSearch:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return SlotSearch(
            specialty=data.get("specialty") or "",
            slot_type=data.get("slot_type") or "",
            consultant_id=data.get("consultant") or None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class BookForm(NHSFormMixin, forms.Form):
    notes = forms.CharField(
        label="Note for the clinic and the letter",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: needs an interpreter (Polish); bring a urine sample",
    )


class CancelForm(NHSFormMixin, forms.Form):
    cancelled_by = forms.ChoiceField(
        label="Who asked for it",
        choices=CancelledBy.choices,
        widget=forms.RadioSelect,
        error_messages=required_choice("Select who asked: the patient or the hospital"),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        error_messages={"required": "Enter the reason"},
        help_text="For example: patient on holiday; consultant on leave",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class NoteForm(NHSFormMixin, forms.Form):
    notes = forms.CharField(
        label="Note", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class SessionCancelForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        error_messages={"required": "Enter the reason the session will not run"},
        help_text="For example: consultant on sick leave. Booked patients are listed to rebook.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class SessionReduceForm(SessionCancelForm):
    slots = forms.TypedMultipleChoiceField(
        label="Slots that will not run",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages=required_choice("Tick the slots that will not run"),
    )

    def __init__(self, *args: Any, slot_choices: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        slots = cast(forms.ChoiceField, self.fields["slots"])
        slots.choices = slot_choices
        self.order_fields(["slots", "reason", "version"])


class TheatreCaseForm(NHSFormMixin, forms.Form):
    hospital_number = forms.CharField(
        label="Patient's hospital number",
        max_length=20,
        error_messages={"required": "Enter the hospital number"},
    )
    procedure = forms.CharField(
        label="Procedure", max_length=300, error_messages={"required": "Enter the procedure"}
    )
    expected_minutes = forms.IntegerField(
        label="Expected length (minutes)",
        min_value=5,
        max_value=720,
        initial=60,
        error_messages={"required": "Enter the expected length in minutes"},
    )


class ReasonForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(label="Reason", max_length=300, error_messages={"required": "Enter the reason"})
