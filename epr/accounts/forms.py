from typing import Any

from django import forms
from django_otp.plugins.otp_totp.models import TOTPDevice

from epr.forms import NHSFormMixin


class SecondFactorForm(NHSFormMixin, forms.Form):
    token = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "class": "nhsuk-input nhsuk-input--width-10",
            }
        ),
    )

    def __init__(self, *args: Any, device: TOTPDevice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token: str = self.cleaned_data["token"]
        if not token.isdigit() or not self.device.verify_token(token):
            raise forms.ValidationError("The code is wrong or has expired. Enter the current code.")
        return token
