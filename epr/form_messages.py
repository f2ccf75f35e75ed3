"""Field-specific error messages ("Select the ward", "Enter the reason") for every form, in the NHS.UK
style, so no page says "This field is required." twice. A field that sets its own message keeps it:
only Django's generic defaults are replaced."""

from __future__ import annotations

from django import forms
from django.forms.utils import pretty_name

# Widgets where the user picks rather than types.
_CHOSEN = (forms.Select, forms.RadioSelect, forms.CheckboxInput, forms.CheckboxSelectMultiple)
# The form is stale or tampered with; the user cannot fix a hidden field, only reload.
_HIDDEN_MESSAGE = "The page was out of date. Reload it and try again."


def _defaults(field: forms.Field) -> dict[str, str]:
    """Django's own messages for this field's class (as Field.__init__ merges them)."""
    merged: dict[str, str] = {}
    for cls in reversed(type(field).__mro__):
        merged.update(getattr(cls, "default_error_messages", {}))
    return merged


def _phrase(label: str) -> str:
    """The label inside a sentence: "Reason" -> "the reason", "NHS number" -> "the NHS number"."""
    label = label.strip().rstrip(":")
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        label = label[0].lower() + label[1:]
    return f"the {label}"


def specific_messages(name: str, field: forms.Field) -> dict[str, str]:
    """Messages naming the field, keyed by Django's error codes, for those it has not set itself."""
    label = str(field.label or pretty_name(name))
    subject = label.strip().rstrip(":?")
    if isinstance(field.widget, forms.HiddenInput):
        messages = dict.fromkeys(("required", "invalid", "invalid_choice"), _HIDDEN_MESSAGE)
    elif label.strip().endswith("?"):
        # A question ("Why do you need this record now?") reads badly after "Enter the ...".
        messages = {"required": f"Answer the question: {label.strip()}"}
    elif isinstance(field.widget, _CHOSEN) or isinstance(field, forms.ChoiceField):
        messages = {"required": f"Select {_phrase(label)}"}
    else:
        messages = {"required": f"Enter {_phrase(label)}"}
    if not isinstance(field.widget, forms.HiddenInput):
        messages["invalid_choice"] = f"Select {_phrase(subject)} from the list"  # noqa: S608 (not SQL)
        messages["max_length"] = f"{subject} must be %(limit_value)d characters or fewer"
        messages["min_length"] = f"{subject} must be %(limit_value)d characters or more"
        messages["max_value"] = f"{subject} must be %(limit_value)s or less"
        messages["min_value"] = f"{subject} must be %(limit_value)s or more"
        if isinstance(field, forms.IntegerField) and not isinstance(field, forms.DecimalField):
            messages["invalid"] = f"{subject} must be a whole number"
        elif isinstance(field, forms.DecimalField | forms.FloatField):
            messages["invalid"] = f"{subject} must be a number"
            messages["max_digits"] = f"{subject} must have no more than %(max)s digits"
            messages["max_decimal_places"] = f"{subject} must have no more than %(max)s decimal places"
        elif isinstance(field, forms.DateTimeField):
            messages["invalid"] = f"{subject} must be a real date and time"
        elif isinstance(field, forms.DateField):
            messages["invalid"] = f"{subject} must be a real date"
        elif isinstance(field, forms.EmailField):
            messages["invalid"] = f"Enter {_phrase(subject)} as an email address, like name@nhs.net"
    defaults = _defaults(field)
    return {
        code: text
        for code, text in messages.items()
        if code in defaults and field.error_messages.get(code) == defaults[code]
    }


def apply_specific_messages(form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        field.error_messages.update(specific_messages(name, field))
