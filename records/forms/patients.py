from __future__ import annotations

from datetime import timedelta

from django import forms
from django.urls import reverse
from django.utils import timezone

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.forms import DateTimeInput, MemorableDateField, NHSFormMixin
from epr.parsing import ascii_int
from epr.terminology.models import CodeSystem
from epr.terminology.rules import is_valid_concept_id, search_key
from epr.terminology.selectors import SEARCH_MIN_LENGTH, ConceptMatch, concept, concept_matches
from epr.terminology.widgets import ConceptCodeInput, ConceptCombobox, PickerState
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


def _consultants():
    return User.objects.filter(role=Role.DOCTOR, is_active=True).order_by("last_name")


CHOOSE = "Choose..."


def _required(message: str) -> dict[str, str]:
    return {"required": message, "invalid_choice": message}


class PlaceForm(NHSFormMixin, forms.Form):
    ward = forms.ModelChoiceField(
        queryset=Ward.objects.filter(active=True).select_related("site"),
        empty_label=CHOOSE,
        error_messages=_required("Select a ward"),
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
        error_messages=_required("Select the consultant"),
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
        choices=[("", CHOOSE), *Specialty.choices], error_messages=_required("Select a specialty")
    )
    admission_method = forms.ChoiceField(
        choices=[("", CHOOSE), *AdmissionMethod.choices],
        error_messages=_required("Select the admission method"),
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
        error_messages=_required("Select the discharge destination"),
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
    # A one-time token for this form: posting it twice (a double click, a resend) saves one set.
    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
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
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("taken_at", "submission")}
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


class ConceptPickerMixin:
    """A SNOMED CT combobox over a terminology subset (epr.terminology.widgets; static/js/combobox.js).

    Without JavaScript: a submitted search that matches exactly one concept picks it; several are
    listed as radio options to choose from; changing the search afterwards drops the earlier choice.
    The chosen concept and the matches are shown again when the form has errors elsewhere. Errors
    about the code are shown at the search box, the field the user can see and correct.
    """

    picker: tuple[str, str, str] = ("", "", "")  # search field, code field, terminology subset
    picker_noun = "concept"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        search, code_field, subset = self.picker
        state = PickerState(
            code_name=self.add_prefix(code_field),
            previous_name=self.add_prefix(f"{search}_previous"),
            search_url=f"{reverse('records:terminology_search')}?subset={subset}",
            noun=self.picker_noun,
        )
        self.fields[search].widget.state = self.picker_state = state
        self.fields[search].show_optional = False  # not required only so the form can explain what to do
        self._search_changed = self._code_refused = False
        if not self.is_bound:
            return
        state.text = " ".join(_posted(self.data, self.add_prefix(search)).split())
        code = _posted(self.data, self.add_prefix(code_field)).strip()
        previous = self.data.get(state.previous_name)
        if code and isinstance(previous, str) and search_key(previous) != search_key(state.text):
            # A search changed after the choice was made (no JavaScript): search again instead.
            self._search_changed, code = True, ""
        if code:
            found = concept(CodeSystem.SNOMED, code) if is_valid_concept_id(code) else None
            if found and found.active and subset in found.subsets:
                state.chosen = ConceptMatch(found.code, found.display)
            else:
                self._code_refused = True
        state.matches = concept_matches(text=state.text, subset=subset)

    def add_error(self, field, error) -> None:
        search, code_field, _ = self.picker
        super().add_error(search if field == code_field else field, error)

    def clean(self):
        data = super().clean()
        search, code_field, _ = self.picker
        state, noun = self.picker_state, self.picker_noun
        if self._search_changed:
            data[code_field] = ""
        if self._code_refused:
            self.add_error(search, f"Choose the {noun} from the list")
            return data
        if data.get(code_field) or not state.text or self._typed_instead():
            return data
        if len(state.text) < SEARCH_MIN_LENGTH:
            self.add_error(search, f"Type at least {SEARCH_MIN_LENGTH} letters of the {noun}")
        elif len(state.matches) == 1:
            state.chosen = state.matches[0]
            data[code_field] = state.chosen.code
        elif state.matches:
            self.add_error(search, f"Several concepts match “{state.text}”: choose the {noun} from the list")
        else:
            self.add_error(search, self._no_match(state.text))
        return data

    def _no_match(self, text: str) -> str:
        return f"No {self.picker_noun} matches “{text}”: check the spelling or try other words"

    def _typed_instead(self) -> bool:
        return False


def _posted(data, key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


class AllergyForm(ConceptPickerMixin, NHSFormMixin, forms.Form):
    picker = ("substance_search", "substance_code", "allergen")
    picker_noun = "substance"

    substance_search = forms.CharField(
        label="Search for the substance",
        required=False,
        max_length=100,
        help_text="Type part of the name, a synonym or an abbreviation (such as NSAID), then choose it",
        widget=ConceptCombobox,
    )
    substance_code = forms.CharField(label="Substance (SNOMED CT)", required=False, widget=ConceptCodeInput)
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

    def _no_match(self, text: str) -> str:
        return f"No substance matches “{text}”: check the spelling, or type the substance in the box below"

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("substance_search", None)
        return data


class ProblemForm(ConceptPickerMixin, NHSFormMixin, forms.Form):
    picker = ("problem_search", "snomed_code", "problem")
    picker_noun = "problem"

    problem_search = forms.CharField(
        label="Search for the problem or diagnosis",
        required=False,
        max_length=100,
        help_text="Type part of the name, a synonym or an abbreviation (such as COPD), then choose it",
        widget=ConceptCombobox,
    )
    snomed_code = forms.CharField(label="Problem (SNOMED CT)", required=False, widget=ConceptCodeInput)
    clinical_status = forms.ChoiceField(choices=ProblemStatus.choices, label="Status")
    # Chosen each time: a diagnosis recorded as provisional or confirmed by default would mislead.
    verification = forms.ChoiceField(
        choices=[("", CHOOSE), *ProblemVerification.choices],
        error_messages=_required("Select whether the diagnosis is confirmed, provisional or differential"),
    )
    onset_date = MemorableDateField(label="Onset date", required=False, past=True)
    resolved_date = MemorableDateField(label="Resolved date", required=False, past=True)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def clean(self):
        data = super().clean()
        if not data.get("snomed_code") and "problem_search" not in self.errors:
            self.add_error("problem_search", "Search for the problem or diagnosis, then choose it")
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
        field_classes = {"onset_date": MemorableDateField, "resolved_date": MemorableDateField}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("onset_date", "resolved_date"):
            self.fields[name].past = True


def amended_values(form: forms.ModelForm) -> dict:
    return {f: form.cleaned_data[f] for f in form._meta.fields}
