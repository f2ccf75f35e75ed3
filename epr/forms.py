"""Form styling for the NHS.UK frontend: widget classes and error state, set once for every form."""

from __future__ import annotations

from django import forms

from epr.form_messages import apply_specific_messages

_WIDGET_CLASSES = {
    forms.Select: "nhsuk-select",
    forms.Textarea: "nhsuk-textarea",
    forms.CheckboxInput: "nhsuk-checkboxes__input",
    forms.DateInput: "nhsuk-input nhsuk-input--width-10",
    forms.DateTimeInput: "nhsuk-input nhsuk-input--width-20",
}


class NHSFormMixin:
    """Adds nhsuk-* classes to widgets and the error modifier to fields with errors."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        apply_specific_messages(self)  # "Select the ward", not "This field is required."
        for name, field in self.fields.items():
            css = next((c for w, c in _WIDGET_CLASSES.items() if isinstance(field.widget, w)), "nhsuk-input")
            field.widget.attrs.setdefault("class", css)
            if field.help_text:  # the hint's id in includes/field.html, so screen readers read it
                field.widget.attrs["aria-describedby"] = f"{name}-hint"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                base = widget.attrs.get("class", "")
                for suffix in ("input", "select", "textarea"):
                    if f"nhsuk-{suffix}" in base.split() and f"nhsuk-{suffix}--error" not in base:
                        widget.attrs["class"] = f"{base} nhsuk-{suffix}--error"
                hint = f"{name}-hint " if self.fields[name].help_text else ""
                widget.attrs["aria-describedby"] = f"{hint}{name}-error"


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")
