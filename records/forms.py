from __future__ import annotations

from django import forms
from django.utils import timezone

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.forms import DateInput, DateTimeInput, NHSFormMixin
from epr.parsing import ascii_int
from epr.terminology.models import CodeSystem
from epr.terminology.selectors import concept, concept_search
from records import rules
from records.models import (
    AdmissionMethod,
    AllergyCategory,
    AllergyCriticality,
    AllergyIntolerance,
    AllergySeverity,
    AllergyVerification,
    Bed,
    DischargeDestination,
    OxygenDevice,
    Patient,
    Problem,
    ProblemStatus,
    ProblemVerification,
    Specialty,
    Team,
    Ward,
)
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
    date_of_birth = forms.DateField(label="Date of birth", required=False, widget=DateInput)

    def clean(self):
        data = super().clean()
        identifier = (data.get("identifier") or "").strip()
        name = rules.search_key(data.get("name") or "")
        if not identifier and not name:
            raise forms.ValidationError(
                "Enter an NHS number, a hospital number, or a name with a date of birth."
            )
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


class DemographicsForm(NHSFormMixin, forms.ModelForm):
    nhs_number = forms.CharField(
        label="NHS number", required=False, max_length=20, help_text="10 digits; spaces are fine"
    )

    class Meta:
        model = Patient
        fields = list(DEMOGRAPHIC_FIELDS)
        widgets = {"date_of_birth": DateInput, "date_of_death": DateInput}
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


def _consultants():
    return User.objects.filter(role=Role.DOCTOR, is_active=True).order_by("last_name")


class PlaceForm(NHSFormMixin, forms.Form):
    ward = forms.ModelChoiceField(queryset=Ward.objects.filter(active=True).select_related("site"))
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
    consultant = forms.ModelChoiceField(queryset=User.objects.none(), label="Consultant")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, label="Treating team")
    specialty = forms.ChoiceField(choices=Specialty.choices)
    admission_method = forms.ChoiceField(choices=AdmissionMethod.choices)
    admitted_at = forms.DateTimeField(
        label="Admitted at", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consultant"].queryset = _consultants()


class TransferForm(PlaceForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    transferred_at = forms.DateTimeField(
        label="Transferred at", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )


class DischargeForm(NHSFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    destination = forms.ChoiceField(choices=DischargeDestination.choices, label="Discharge destination")
    discharged_at = forms.DateTimeField(
        label="Discharged at", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )


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


def now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class ObservationForm(NHSFormMixin, forms.Form):
    taken_at = forms.DateTimeField(
        label="Time taken", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )
    respiration_rate = forms.IntegerField(label="Respiration rate (breaths/min)", required=False)
    spo2 = forms.IntegerField(label="SpO2 (%)", required=False)
    on_oxygen = forms.TypedChoiceField(
        label="Air or oxygen?",
        choices=[("", "Not recorded"), ("air", "Air"), ("oxygen", "Oxygen")],
        coerce=lambda v: {"air": False, "oxygen": True}.get(v),
        empty_value=None,
        required=False,
    )
    oxygen_device = forms.ChoiceField(
        label="Oxygen device", choices=[("", "—"), *OxygenDevice.choices], required=False
    )
    oxygen_flow = forms.DecimalField(
        label="Oxygen flow (L/min)", required=False, max_digits=4, decimal_places=1
    )
    systolic_bp = forms.IntegerField(label="Systolic BP (mmHg)", required=False)
    diastolic_bp = forms.IntegerField(label="Diastolic BP (mmHg)", required=False)
    pulse = forms.IntegerField(label="Pulse (beats/min)", required=False)
    consciousness = forms.ChoiceField(
        label="Consciousness (ACVPU)",
        required=False,
        choices=[
            ("", "Not recorded"),
            ("A", "A – Alert"),
            ("C", "C – New confusion"),
            ("V", "V – Responds to voice"),
            ("P", "P – Responds to pain"),
            ("U", "U – Unresponsive"),
        ],
        help_text="If you are not sure confusion is new, treat it as new.",
    )
    temperature = forms.DecimalField(label="Temperature (°C)", required=False, max_digits=4, decimal_places=2)
    weight = forms.DecimalField(label="Weight (kg)", required=False, max_digits=5, decimal_places=1)
    height = forms.DecimalField(label="Height (cm)", required=False, max_digits=4, decimal_places=1)
    pain_score = forms.IntegerField(label="Pain score (0–10)", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("respiration_rate", "spo2", "systolic_bp", "diastolic_bp", "pulse", "pain_score"):
            self.fields[name].widget.attrs.update(
                {"inputmode": "numeric", "class": "nhsuk-input nhsuk-input--width-4"}
            )
        for name in ("temperature", "oxygen_flow", "weight", "height"):
            self.fields[name].widget.attrs.update(
                {"inputmode": "decimal", "class": "nhsuk-input nhsuk-input--width-5"}
            )

    def values(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "taken_at"}
        data["consciousness"] = data.get("consciousness") or ""
        data["oxygen_device"] = data.get("oxygen_device") or ""
        return data


class SpO2ScaleForm(NHSFormMixin, forms.Form):
    scale = forms.TypedChoiceField(
        label="SpO2 scale",
        coerce=int,
        choices=[
            (1, "Scale 1 – target 94–98%"),
            (2, "Scale 2 – hypercapnic respiratory failure, target 88–92%"),
        ],
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text="For example, the blood gas that confirmed type 2 respiratory failure",
    )


class AcknowledgeForm(NHSFormMixin, forms.Form):
    note = forms.CharField(label="Action taken", required=False, max_length=1000)
    escalated = forms.BooleanField(label="Escalated to the medical team or outreach", required=False)


class ConceptPickerMixin:
    """A search box that fills a SNOMED CT select through htmx, and works without JavaScript too:
    a search that matches exactly one concept picks it."""

    picker: tuple[str, str, str] = ("", "", "")  # search field, code field, terminology subset

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        search, code_field, subset = self.picker
        self.fields[search].widget.attrs.update(
            {
                "hx-get": f"/terminology/search/?subset={subset}",
                "hx-trigger": "input changed delay:300ms",
                "hx-target": f"#id_{code_field}",
                "hx-swap": "innerHTML",
                "autocomplete": "off",
            }
        )
        code = self.data.get(code_field) if self.is_bound else None
        if code:  # keep the chosen concept on a redisplay (the service checks the code)
            found = concept(CodeSystem.SNOMED, code)
            self.fields[code_field].choices = [
                ("", "—"),
                (code, f"{found.display} ({code})" if found else code),
            ]

    def clean(self):
        data = super().clean()
        search, code_field, subset = self.picker
        text = (data.get(search) or "").strip()
        if not data.get(code_field) and text and not self._typed_instead():
            matches = list(concept_search(text=text, subset=subset, limit=2))
            if len(matches) == 1:
                data[code_field] = matches[0].code
            elif matches:
                self.add_error(code_field, "Several concepts match your search: choose one from the list.")
        return data

    def _typed_instead(self) -> bool:
        return False


class AllergyForm(ConceptPickerMixin, NHSFormMixin, forms.Form):
    picker = ("substance_search", "substance_code", "allergen")

    substance_search = forms.CharField(
        label="Search for the substance",
        required=False,
        max_length=100,
        help_text="Type part of the name, then choose from the list",
    )
    substance_code = forms.ChoiceField(label="Substance (SNOMED CT)", required=False, choices=[("", "—")])
    substance_text = forms.CharField(
        label="Or type the substance if it is not in the list", required=False, max_length=255
    )
    kind = forms.ChoiceField(choices=[("allergy", "Allergy"), ("intolerance", "Intolerance")])
    category = forms.ChoiceField(choices=[("", "—"), *AllergyCategory.choices], required=False)
    reaction = forms.CharField(required=False, max_length=255, help_text="For example, rash or anaphylaxis")
    severity = forms.ChoiceField(choices=[("", "—"), *AllergySeverity.choices], required=False)
    criticality = forms.ChoiceField(choices=[("", "—"), *AllergyCriticality.choices], required=False)
    verification = forms.ChoiceField(choices=AllergyVerification.choices, label="Certainty")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def _typed_instead(self) -> bool:
        return bool((self.cleaned_data.get("substance_text") or "").strip())

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("substance_search", None)
        return data


class ProblemForm(ConceptPickerMixin, NHSFormMixin, forms.Form):
    picker = ("problem_search", "snomed_code", "problem")

    problem_search = forms.CharField(
        label="Search for the problem or diagnosis", required=False, max_length=100
    )
    snomed_code = forms.ChoiceField(label="Problem (SNOMED CT)", choices=[("", "—")], required=False)
    clinical_status = forms.ChoiceField(choices=ProblemStatus.choices, label="Status")
    verification = forms.ChoiceField(choices=ProblemVerification.choices)
    onset_date = forms.DateField(required=False, widget=DateInput)
    resolved_date = forms.DateField(required=False, widget=DateInput)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def clean(self):
        data = super().clean()
        if not data.get("snomed_code") and "snomed_code" not in self.errors:
            self.add_error("snomed_code", "Choose the problem from the list.")
        return data

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("problem_search", None)
        return data


class _AmendFields(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the change", max_length=500, help_text="Shown in the entry's history"
    )


class AllergyAmendForm(NHSFormMixin, forms.ModelForm, _AmendFields):
    class Meta:
        model = AllergyIntolerance
        fields = ["clinical_status", "verification", "severity", "criticality", "reaction", "note"]


class ProblemAmendForm(NHSFormMixin, forms.ModelForm, _AmendFields):
    class Meta:
        model = Problem
        fields = ["clinical_status", "verification", "onset_date", "resolved_date", "note"]
        widgets = {"onset_date": DateInput, "resolved_date": DateInput}


def amended_values(form: forms.ModelForm) -> dict:
    return {f: form.cleaned_data[f] for f in form._meta.fields}
