"""Forms of the prescribing pages: choosing a medicine, writing a prescription (with the reasons given
for the checks it raised), recording a dose at the bedside, recording a dose not given, the
pharmacist's review and stopping a prescription."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms

from epr.forms import DateInput, DateTimeInput, NHSFormMixin
from prescribing import policy
from prescribing.models import PharmacyAction, PrescriptionKind, Setting
from prescribing.rules import doses
from prescribing.rules.antimicrobials import Decision

ROUND_TIMES = ("06:00", "08:00", "12:00", "14:00", "18:00", "22:00")
DOSE_UNITS = (
    "mg",
    "microgram",
    "gram",
    "unit",
    "ml",
    "mmol",
    "tablet",
    "capsule",
    "dose",
    "application",
    "patch",
    "suppository",
    "sachet",
    "drop",
    "vial",
    "ampoule",
)


class MedicineSearchForm(NHSFormMixin, forms.Form):
    q = forms.CharField(
        label="Medicine", max_length=100, required=False, help_text="Type at least 3 letters of its name"
    )


class PrescribeForm(NHSFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="Type of prescription", choices=PrescriptionKind.choices, widget=forms.RadioSelect
    )
    dose_value = forms.DecimalField(
        label="Dose", max_digits=12, decimal_places=4, min_value=Decimal("0.0001"), required=False
    )
    dose_per_kg = forms.DecimalField(
        label="Or a dose per kg (weight-based)",
        max_digits=12,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        required=False,
        help_text="In the dose unit per kg: the dose is calculated from the latest recorded weight",
    )
    dose_steps = forms.CharField(
        label="Or a stepped course (reducing or increasing)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='One step a line, in the dose unit: "40 for 5 days", then "30 for 5 days"...',
    )
    dose_unit = forms.ChoiceField(label="Dose unit", choices=[(u, u) for u in DOSE_UNITS])
    route = forms.ChoiceField(label="Route")
    diluent = forms.CharField(
        label="Infusion: diluent",
        required=False,
        max_length=120,
        help_text="For example Sodium chloride 0.9%",
    )
    infusion_volume_ml = forms.DecimalField(
        label="Infusion: volume (ml)",
        required=False,
        max_digits=8,
        decimal_places=1,
        min_value=Decimal("0.1"),
    )
    infusion_rate_ml_per_hour = forms.DecimalField(
        label="Infusion: rate (ml/hour)",
        required=False,
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    infusion_minutes = forms.IntegerField(
        label="Infusion: over (minutes)",
        required=False,
        min_value=1,
        max_value=7 * 24 * 60,
        help_text="Give the rate or how long it runs; the other is worked out",
    )
    times_of_day = forms.MultipleChoiceField(
        label="Times of day (regular)",
        choices=[(t, t) for t in ROUND_TIMES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    other_times = forms.CharField(
        label="Other times (regular)",
        required=False,
        max_length=60,
        help_text="24-hour clock, separated by commas, for example 10:00, 16:00",
    )
    min_interval_hours = forms.DecimalField(
        label="Minimum hours between doses (as required)",
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0.25"),
    )
    max_doses_in_24_hours = forms.IntegerField(
        label="Most doses in 24 hours (as required)", required=False, min_value=1, max_value=48
    )
    indication = forms.CharField(
        label="Indication",
        max_length=200,
        required=False,
        help_text="What it is for. Needed for as-required medicines and antimicrobials",
    )
    starts_at = forms.DateTimeField(
        label="Start", widget=DateTimeInput, required=False, help_text="Leave blank for now"
    )
    ends_at = forms.DateTimeField(label="Planned end", widget=DateTimeInput, required=False)
    review_on = forms.DateField(
        label="Review date",
        widget=DateInput,
        required=False,
        help_text="Antimicrobials need a review or an end date",
    )
    setting = forms.ChoiceField(label="For", choices=Setting.choices, initial=Setting.INPATIENT)
    notes_for_administration = forms.CharField(
        label="Notes for the nurse giving it", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        routes: list[str],
        pending: Sequence[Any] = (),
        changing: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name in ("dose_value", "dose_per_kg", "dose_steps"):
            setattr(self.fields[name], "show_optional", False)  # noqa: B010 - one of the two is needed
        if changing is not None:
            # The change is a new prescription from now; the old one is stopped with this reason.
            del self.fields["starts_at"]
            self.fields["change_reason"] = forms.CharField(label="Why is it changed?", max_length=300)
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, required=False)
        cast(forms.ChoiceField, self.fields["route"]).choices = [(r, r) for r in routes]
        self.pending = list(pending)
        for item in self.pending:
            self.fields[f"answer_{item.key}"] = forms.CharField(
                label=f"Reason to prescribe despite this: {item.finding.message}",
                required=False,
                max_length=500,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"answer_{item.key}"].widget.attrs["class"] = "nhsuk-textarea"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        steps_text = data.get("dose_steps", "")
        if steps_text:
            try:
                data["dose_steps"] = doses.parse_steps(steps_text)
            except ValueError as exc:
                self.add_error("dose_steps", str(exc))
        else:
            data["dose_steps"] = []
        neither = data.get("dose_value") is None and data.get("dose_per_kg") is None and not steps_text
        if neither and "dose_value" not in self.errors:
            self.add_error("dose_value", "Give the dose, or a dose per kg.")
        if data.get("dose_value") is not None and data.get("dose_per_kg") is not None:
            self.add_error("dose_per_kg", "Give the dose or a dose per kg, not both.")
        return data

    def answers(self) -> dict[str, str]:
        return {
            name.removeprefix("answer_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("answer_") and value
        }

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        extra = [t.strip() for t in data.get("other_times", "").split(",") if t.strip()]
        hours = data.get("min_interval_hours")
        return {
            "kind": data["kind"],
            "dose_value": data.get("dose_value"),
            "dose_per_kg": data.get("dose_per_kg"),
            "dose_steps": data.get("dose_steps") or [],
            "diluent": data.get("diluent", ""),
            "infusion_volume_ml": data.get("infusion_volume_ml"),
            "infusion_rate_ml_per_hour": data.get("infusion_rate_ml_per_hour"),
            "infusion_minutes": data.get("infusion_minutes"),
            "dose_unit": data["dose_unit"],
            "route": data["route"],
            "times_of_day": [*data.get("times_of_day", []), *extra],
            "min_interval_minutes": int(hours * 60) if hours is not None else None,
            "max_doses_in_24_hours": data.get("max_doses_in_24_hours"),
            "indication": data.get("indication", ""),
            "starts_at": data.get("starts_at"),
            "ends_at": data.get("ends_at"),
            "review_on": data.get("review_on"),
            "setting": data["setting"],
            "notes_for_administration": data.get("notes_for_administration", ""),
        }

    def answer_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith("answer_")]

    def main_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if not name.startswith("answer_")]


class AdministerForm(NHSFormMixin, forms.Form):
    # A one-time token: posting the same form twice (a double click) records one dose.
    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    wristband = forms.CharField(
        label="Scan wristband",
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "data-epr-scan": "wristband"}
        ),
    )
    pack = forms.CharField(
        label="Scan medicine",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-epr-scan": "medicine"}),
    )
    typed_reason = forms.CharField(
        label="Typed, not scanned? Say why",
        required=False,
        max_length=300,
        help_text="Only if a barcode will not scan and you typed the number instead",
    )
    witness_username = forms.CharField(label="Witness's username", max_length=150, required=False)
    witness_password = forms.CharField(
        label="Witness's password", required=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )

    def __init__(
        self, *args: Any, refusals: Sequence[Any] = (), needs_witness: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        for name in ("wristband", "pack", "witness_username", "witness_password"):
            # Optional only so the checks can say what is missing.
            setattr(self.fields[name], "show_optional", False)  # noqa: B010
        if not needs_witness:
            del self.fields["witness_username"], self.fields["witness_password"]
        for refusal in refusals:
            if refusal.overridable:
                name = f"override_{refusal.code}"
                self.fields[name] = forms.CharField(
                    label=f"Reason to give it anyway: {refusal.message}",
                    required=False,
                    max_length=500,
                    widget=forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea"}),
                )

    def overrides(self) -> dict[str, str]:
        return {
            name.removeprefix("override_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("override_") and value
        }

    def scan_fields(self) -> list[Any]:
        return [self[n] for n in ("wristband", "pack", "typed_reason")]

    def witness_fields(self) -> list[Any]:
        return [self[n] for n in ("witness_username", "witness_password") if n in self.fields]

    def override_fields(self) -> list[Any]:
        return [self[n] for n in self.fields if n.startswith("override_")]


class NotGivenForm(NHSFormMixin, forms.Form):
    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    reason = forms.ChoiceField(label="Why was it not given?", widget=forms.RadioSelect, choices=())
    text = forms.CharField(
        label="Details", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["reason"]).choices = policy.not_given_reasons()


class ReviewForm(NHSFormMixin, forms.Form):
    action = forms.ChoiceField(choices=PharmacyAction.choices, widget=forms.HiddenInput)
    text = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class StopForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(label="Why is it stopped?", max_length=500)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AntimicrobialReviewForm(NHSFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label="Review decision", choices=list(Decision.LABELS.items()), widget=forms.RadioSelect
    )
    next_review_on = forms.DateField(
        label="Next review", widget=DateInput, required=False, help_text="Needed to continue, or for OPAT"
    )
    note = forms.CharField(
        label="Notes",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a change, what to and why",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
