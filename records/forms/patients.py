from __future__ import annotations

from django import forms

from epr.forms import MemorableDateField, NHSFormMixin
from records.models import (
    Patient,
)
from records.rules import patients as rules
from records.services import DEMOGRAPHIC_FIELDS


class PatientSearchForm(NHSFormMixin, forms.Form):
    identifier = forms.CharField(
        label="NHS number or hospital number",
        required=False,
        max_length=20,
        help_text="For example, 943 476 5919 or H1000001",
    )
    name = forms.CharField(
        label="Name", required=False, max_length=100, help_text="Part of the family or given name"
    )
    date_of_birth = MemorableDateField(label="Date of birth", required=False, past=True)

    def clean(self):
        data = super().clean()
        identifier = (data.get("identifier") or "").strip()
        name = rules.search_key(data.get("name") or "")
        if not identifier and not name:
            raise forms.ValidationError(
                "Enter an NHS number, a hospital number, or a name with a date of birth."
            )
        digits = rules.normalise_nhs_number(identifier)
        # Hospital numbers start with a letter, so digits alone are an NHS number: a mistyped one must
        # say so rather than find nothing and invite a duplicate registration.
        if digits and digits.isascii() and digits.isdecimal():
            try:
                rules.validate_nhs_number(digits)
            except rules.InvalidNHSNumber as exc:
                self.add_error("identifier", _search_nhs_number_error(digits, exc))
        if name and not identifier and not data.get("date_of_birth") and len(name.replace(" ", "")) < 3:
            self.add_error("name", "Enter at least 3 letters of the name, or add the date of birth.")
        return data

    def criteria(self) -> dict:
        identifier = (self.cleaned_data.get("identifier") or "").strip()
        digits = rules.normalise_nhs_number(identifier)
        criteria = {
            "name": self.cleaned_data.get("name") or "",
            "date_of_birth": self.cleaned_data.get("date_of_birth"),
        }
        if digits.isascii() and digits.isdecimal() and len(digits) == 10:
            criteria["nhs_number"] = digits
        elif identifier:
            criteria["hospital_number"] = identifier
        return criteria


def _search_nhs_number_error(digits: str, exc: rules.InvalidNHSNumber) -> str:
    """The rule's message, naming the number as typed: '943 476 5918 is not a valid NHS number: ...'."""
    message = str(exc)
    if message.startswith("This is "):
        return f"{rules.format_nhs_number(digits)} is {message.removeprefix('This is ')}"
    return f"{message} Hospital numbers start with a letter."


class DemographicsForm(NHSFormMixin, forms.ModelForm):
    nhs_number = forms.CharField(
        label="NHS number", required=False, max_length=20, help_text="10 digits; spaces are fine"
    )

    class Meta:
        model = Patient
        fields = list(DEMOGRAPHIC_FIELDS)
        field_classes = {"date_of_birth": MemorableDateField, "date_of_death": MemorableDateField}
        labels = {
            "nhs_number": "NHS number",
            "nhs_number_status": "NHS number verification status",
            "temporary_identity": "Unknown or unidentified patient (temporary identity, to be traced)",
            "family_name": "Family name (surname)",
            "given_names": "Given names",
            "gp_practice_code": "GP practice ODS code",
            "gp_practice_name": "GP practice name",
            "ethnic_category": "Ethnic category",
            "interpreter_required": "Needs an interpreter",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Required unless the patient is unknown; clean() says so.
        self.fields["family_name"].required = False
        self.fields["family_name"].show_optional = False
        self.fields["family_name"].help_text = "Required unless the patient is unknown"
        # Set after NHSFormMixin linked the hints, so link this one here (Django would point at an id
        # that does not exist).
        self.fields["family_name"].widget.attrs["aria-describedby"] = "family_name-hint"
        self.fields["date_of_birth"].past = True
        self.fields["date_of_death"].past = True

    def clean_nhs_number(self) -> str:
        value = self.cleaned_data.get("nhs_number") or ""
        if value.strip():
            try:
                return rules.validate_nhs_number(value)
            except rules.InvalidNHSNumber as exc:
                raise forms.ValidationError(str(exc)) from exc
        return ""

    def clean(self):
        data = super().clean()
        if not data.get("temporary_identity") and not (data.get("family_name") or "").strip():
            self.add_error("family_name", "Enter the patient's family name, or tick 'unknown patient'.")
        return data

    def values(self) -> dict:
        return {f: self.cleaned_data[f] for f in DEMOGRAPHIC_FIELDS if f in self.cleaned_data}


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class ReasonForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class OtherRecordForm(ReasonForm):
    other = forms.CharField(label="Hospital number of the other record", max_length=20)

    def clean_other(self) -> Patient:
        try:
            return Patient.objects.get(hospital_number=self.cleaned_data["other"].strip().upper())
        except Patient.DoesNotExist as exc:
            raise forms.ValidationError("No record has that hospital number.") from exc


class BreakGlassForm(ReasonForm):
    reason = forms.CharField(
        label="Why do you need this record now?",
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=10,
        max_length=2000,
        help_text="Your reason is recorded and reviewed by the privacy officer.",
    )
