"""The observations form (a set of vital signs, with the time taken) and the SpO2 scale choice."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from epr.forms import DateTimeInput, NHSFormMixin
from records.models import (
    OxygenDevice,
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
