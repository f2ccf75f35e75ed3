"""Admission forms: where the patient goes (ward, bed, consultant, team), transfer and discharge."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.forms import DateTimeInput, NHSFormMixin
from epr.parsing import ascii_int
from records.forms.common import CHOOSE, required_choice
from records.models import (
    AdmissionMethod,
    Bed,
    DischargeDestination,
    Specialty,
    Team,
    Ward,
)


def _consultants():
    return User.objects.filter(role=Role.DOCTOR, is_active=True).order_by("last_name")


class PlaceForm(NHSFormMixin, forms.Form):
    ward = forms.ModelChoiceField(
        queryset=Ward.objects.filter(active=True).select_related("site"),
        empty_label=CHOOSE,
        error_messages=required_choice("Select a ward"),
    )
    bed = forms.ModelChoiceField(
        queryset=Bed.objects.none(), required=False, help_text="Only free beds are listed"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ward_id = ascii_int(str(self.data.get("ward") or self.initial.get("ward") or ""))
        self.fields["ward"].widget.attrs.update(
            {"hx-get": "/beds/free/", "hx-target": "#id_bed", "hx-trigger": "change", "hx-swap": "innerHTML"}
        )
        if ward_id:
            self.fields["bed"].queryset = Bed.objects.filter(ward_id=ward_id, active=True).select_related(
                "bay"
            )

    def clean(self):
        data = super().clean()
        if data.get("bed") and data.get("ward") and data["bed"].ward_id != data["ward"].pk:
            self.add_error("bed", "That bed is not on the chosen ward.")
        return data


class AdmitForm(PlaceForm):
    consultant = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Consultant",
        empty_label=CHOOSE,
        error_messages=required_choice("Select the consultant"),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.select_related("consultant"),
        required=False,
        label="Treating team",
        empty_label="No team",
        help_text="Filled in when the consultant leads one team",
    )
    # No pre-selected value: a default specialty or method would be saved unread.
    specialty = forms.ChoiceField(
        choices=[("", CHOOSE), *Specialty.choices], error_messages=required_choice("Select a specialty")
    )
    admission_method = forms.ChoiceField(
        choices=[("", CHOOSE), *AdmissionMethod.choices],
        error_messages=required_choice("Select the admission method"),
    )
    admitted_at = forms.DateTimeField(
        label="Admitted at", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consultant"].queryset = _consultants()
        self.fields["consultant"].widget.attrs.update(
            {"hx-get": "/teams/for-consultant/", "hx-target": "#id_team", "hx-trigger": "change"}
        )

    def clean(self):
        data = super().clean()
        if data.get("consultant") and not data.get("team"):
            data["team"] = team_led_by(data["consultant"])
        return data


def team_led_by(consultant) -> Team | None:
    """The consultant's team when they lead exactly one (else None: the clerk chooses)."""
    teams = list(Team.objects.filter(consultant=consultant)[:2])
    return teams[0] if len(teams) == 1 else None


class TransferForm(PlaceForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the transfer",
        max_length=500,
        help_text="For example, stepped down from the acute unit, or needs a side room",
        error_messages={"required": "Enter the reason for the transfer"},
    )
    transferred_at = forms.DateTimeField(
        label="Transferred at", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )


class DischargeForm(NHSFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    destination = forms.ChoiceField(
        choices=[("", CHOOSE), *DischargeDestination.choices],
        label="Discharge destination",
        error_messages=required_choice("Select the discharge destination"),
    )
    discharged_at = forms.DateTimeField(
        label="Discharged at", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )
    died_at = forms.DateTimeField(
        label="Date and time of death",
        widget=DateTimeInput,
        required=False,
        help_text="Only when the patient died; it is recorded on their record",
    )

    def __init__(self, *args, admitted_at=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.admitted_at = admitted_at
        self.fields["died_at"].show_optional = False  # required with "patient died"; the hint says so

    def clean(self):
        data = super().clean()
        died_at = data.get("died_at")
        if data.get("destination") != DischargeDestination.DIED:
            data["died_at"] = None  # a time of death only goes with a death
            return data
        if died_at is None:
            if "died_at" not in self.errors:
                self.add_error("died_at", "Enter the date and time of death")
            return data
        now = timezone.now()
        if died_at > now + timedelta(minutes=5):
            self.add_error("died_at", "The time of death cannot be in the future")
        elif self.admitted_at and died_at < self.admitted_at:
            when = timezone.localtime(self.admitted_at).strftime("%d-%b-%Y %H:%M")
            self.add_error("died_at", f"The time of death cannot be before the admission ({when})")
        elif died_at > (data.get("discharged_at") or now + timedelta(minutes=5)):
            self.add_error("died_at", "The time of death cannot be after the discharge time")
        return data
