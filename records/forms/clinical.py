"""Allergy and problem forms: the SNOMED CT concept picker, recording and amending with a reason."""

from __future__ import annotations

from django import forms
from django.urls import reverse

from epr.forms import MemorableDateField, NHSFormMixin
from epr.terminology.models import CodeSystem
from epr.terminology.rules import is_valid_concept_id, search_key
from epr.terminology.selectors import SEARCH_MIN_LENGTH, ConceptMatch, concept, concept_matches
from epr.terminology.widgets import ConceptCodeInput, ConceptCombobox, PickerState
from records.forms.common import CHOOSE, required_choice
from records.models import (
    AllergyCategory,
    AllergyCriticality,
    AllergyIntolerance,
    AllergySeverity,
    AllergyVerification,
    Problem,
    ProblemStatus,
    ProblemVerification,
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
        error_messages=required_choice(
            "Select whether the diagnosis is confirmed, provisional or differential"
        ),
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
