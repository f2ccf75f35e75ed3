"""Form styling for the NHS.UK frontend: widget classes and error state, set once for every form.

Every widget here renders a value that posts back unchanged: an edit saved without touching a field
must leave that field as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms
from django.template import loader
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from epr.form_messages import apply_specific_messages

_WIDGET_CLASSES = {
    forms.Select: "nhsuk-select",
    forms.Textarea: "nhsuk-textarea",
    forms.CheckboxInput: "nhsuk-checkboxes__input",
    forms.DateInput: "nhsuk-input nhsuk-input--width-10",
    forms.DateTimeInput: "nhsuk-input nhsuk-input--width-20",
}

DATE_EXAMPLE = "15 3 1984"

if TYPE_CHECKING:
    # What the mixin is mixed into; at run time it stays a plain mixin, first in a form's bases.
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class NHSFormMixin(_FormBase):
    """Adds nhsuk-* classes to widgets and the error modifier to fields with errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        apply_specific_messages(self)  # "Select the ward", not "This field is required."
        if self.is_bound:
            self.data = _lf_line_breaks(
                self.data,
                [self.add_prefix(n) for n, f in self.fields.items() if isinstance(f.widget, forms.Textarea)],
            )
        for name, field in self.fields.items():
            if isinstance(field.widget, MemorableDateInput):
                continue  # styles its own three inputs; includes/field.html describes its fieldset
            css = next((c for w, c in _WIDGET_CLASSES.items() if isinstance(field.widget, w)), "nhsuk-input")
            field.widget.attrs.setdefault("class", css)
            if field.help_text:  # the hint's id in includes/field.html, so screen readers read it
                field.widget.attrs["aria-describedby"] = f"{name}-hint"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if isinstance(widget, MemorableDateInput):
                    continue  # the field marked the parts at fault while cleaning
                base = widget.attrs.get("class", "")
                for suffix in ("input", "select", "textarea"):
                    if f"nhsuk-{suffix}" in base.split() and f"nhsuk-{suffix}--error" not in base:
                        widget.attrs["class"] = f"{base} nhsuk-{suffix}--error"
                hint = f"{name}-hint " if self.fields[name].help_text else ""
                widget.attrs["aria-describedby"] = f"{hint}{name}-error"


def _lf_line_breaks(data: Any, keys: list[str]) -> Any:
    """Browsers post a textarea's line breaks as CRLF; the record keeps LF (as the services, FHIR and
    the demo data write it), so a text posted back untouched equals what is stored."""
    if not any("\r" in value for key in keys for value in _values(data, key)):
        return data
    data = data.copy()  # a QueryDict's copy is mutable
    for key in keys:
        values = [v.replace("\r\n", "\n").replace("\r", "\n") for v in _values(data, key)]
        if hasattr(data, "setlist"):
            data.setlist(key, values)
        elif key in data:
            data[key] = values[0]
    return data


def _values(data: Any, key: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [v for v in data.getlist(key) if isinstance(v, str)]
    value = data.get(key)
    return [value] if isinstance(value, str) else []


class DateInput(forms.DateInput):
    """<input type="date">, for dates to come (a review date). Browsers take only yyyy-mm-dd as its
    value: a date in the locale's format (01/06/1948) shows as empty and posts back empty."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None, format: str | None = None) -> None:
        super().__init__(attrs, format=format or "%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    """<input type="datetime-local">; like DateInput, only the ISO form is a value browsers accept."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None, format: str | None = None) -> None:
        super().__init__(attrs, format=format or "%Y-%m-%dT%H:%M")


PARTS = ("day", "month", "year")
# The attribute of a ValidationError that names the boxes at fault (see MemorableDateField._error).
_ERROR_PARTS = "parts"


class MemorableDateInput(forms.MultiWidget):
    """The NHS design system's date input: Day, Month and Year boxes, for dates people remember (a date
    of birth) or copy from a letter. includes/field.html wraps it in a fieldset with its legend."""

    template_name = "includes/date_input.html"
    use_fieldset = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {
            part: forms.TextInput(
                attrs={
                    "class": "nhsuk-input nhsuk-date-input__input "
                    f"nhsuk-input--width-{4 if part == 'year' else 2}",
                    "inputmode": "numeric",
                    # A patient's date, not the user's own: the browser must not offer theirs.
                    "autocomplete": "off",
                    "spellcheck": "false",
                }
            )
            for part in PARTS
        }
        super().__init__(widgets, attrs)
        self.error_parts: set[str] = set()

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        if isinstance(value, str):  # an ISO date given as initial data
            try:
                day = date.fromisoformat(value)
            except ValueError:
                return [None, None, None]
            return [day.day, day.month, day.year]
        return [None, None, None]

    def _render(self, template_name: str, context: dict[str, Any], renderer: Any = None) -> SafeString:
        # The project's templates/ (with the nhsuk markup), not Django's form renderer's own directories.
        return mark_safe(loader.render_to_string(template_name, context))  # noqa: S308 - a template's output

    def id_for_label(self, id_: str) -> str:
        # The error summary links here: the first of the three boxes.
        return f"{id_}_day" if id_ else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        attrs = {k: v for k, v in (attrs or {}).items() if k not in ("class", "aria-describedby")}
        context = super().get_context(name, value, attrs)
        base_id = context["widget"]["attrs"].get("id")
        for part, subwidget in zip(PARTS, context["widget"]["subwidgets"], strict=True):
            sub_attrs = subwidget["attrs"]
            if base_id:  # readable ids: id_date_of_birth_day, not id_date_of_birth_0
                sub_attrs["id"] = f"{base_id}_{part}"
            subwidget["error"] = part in self.error_parts
            if subwidget["error"]:
                sub_attrs["class"] = f"{sub_attrs['class']} nhsuk-input--error"
            subwidget["part"] = part
            subwidget["label"] = part.capitalize()
        return context


class MemorableDateField(forms.Field):
    """A date typed as day, month and year, with the design system's specific errors, which name the
    field: "Date of birth must include a month", "... must be a real date", "... must be in the past".

    past=True refuses dates after today (today itself is allowed: a baby born today).
    """

    widget = MemorableDateInput
    example = DATE_EXAMPLE

    def __init__(self, *, past: bool = False, **kwargs: Any) -> None:
        self.past = past
        super().__init__(**kwargs)

    def _label(self) -> str:
        return str(self.label or "Date")

    def _error(self, message: str, parts: Sequence[str] = PARTS) -> forms.ValidationError:
        error = forms.ValidationError(message)
        setattr(error, _ERROR_PARTS, set(parts))  # which boxes to mark; clean() hands them to the widget
        return error

    def clean(self, value: Any) -> date | None:
        self.widget.error_parts = set()
        try:
            cleaned: date | None = super().clean(value)
        except forms.ValidationError as exc:
            self.widget.error_parts = getattr(exc, _ERROR_PARTS, set(PARTS))
            raise
        return cleaned

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, date) or value in (None, ""):
            return value or None
        if isinstance(value, str):  # an ISO date as initial data
            try:
                return date.fromisoformat(value.strip())
            except ValueError as exc:
                raise self._error(f"{self._label()} must be a real date") from exc
        if not isinstance(value, (list, tuple)) or len(value) != len(PARTS):
            raise self._error(f"{self._label()} must be a real date")
        texts = {
            part: str(text if text is not None else "").strip()
            for part, text in zip(PARTS, value, strict=True)
        }
        missing = [part for part in PARTS if not texts[part]]
        if len(missing) == len(PARTS):
            return None
        label = self._label()
        if missing:
            raise self._error(f"{label} must include a {' and '.join(missing)}", missing)
        wrong = [part for part in PARTS if not (texts[part].isascii() and texts[part].isdecimal())]
        if wrong:
            raise self._error(f"{label} must be a real date", wrong)
        if len(texts["year"]) != 4:
            raise self._error(f"{label} must include a year with 4 numbers, like 1984", ["year"])
        try:
            return date(int(texts["year"]), int(texts["month"]), int(texts["day"]))
        except (ValueError, OverflowError) as exc:  # 31 February, or a day past C's int
            raise self._error(f"{label} must be a real date") from exc

    def validate(self, value: date | None) -> None:
        if value is None and self.required:
            raise self._error(f"Enter the {self._label()[:1].lower()}{self._label()[1:]}")
        if value is not None and self.past and value > timezone.localdate():
            raise self._error(f"{self._label()} must be in the past")

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != self.to_python(initial)
        except forms.ValidationError:
            return True
