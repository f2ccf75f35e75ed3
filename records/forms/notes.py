"""The note form, built at run time from a template's field definitions."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from epr.forms import DateInput, NHSFormMixin
from records.models import FieldKind
from records.services.notes import FREE_TEXT_LIMIT, TEXT_LIMITS


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _field(definition: dict, *, required: bool) -> forms.Field:
    label = definition["label"]
    expected = "a real date" if definition["kind"] == FieldKind.DATE else "a number"
    common: dict[str, Any] = {
        "label": label,
        "required": required,
        "help_text": definition.get("help", ""),
        "error_messages": {
            "required": f"Enter {label}: it is needed to sign this note.",
            "invalid": f"{label} must be {expected}.",
            "invalid_choice": f"Choose {label} from the list.",
        },
    }
    kind = definition["kind"]
    if kind == FieldKind.TEXT:
        return forms.CharField(max_length=TEXT_LIMITS[FieldKind.TEXT], **common)
    if kind == FieldKind.TEXTAREA:
        return forms.CharField(
            max_length=TEXT_LIMITS[FieldKind.TEXTAREA], widget=forms.Textarea(attrs={"rows": 4}), **common
        )
    if kind == FieldKind.NUMBER:
        field = forms.DecimalField(max_digits=12, decimal_places=4, **common)
        field.widget.attrs.update({"inputmode": "decimal", "class": "nhsuk-input nhsuk-input--width-5"})
        return field
    if kind == FieldKind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *((c, c) for c in definition["choices"])], **common)
    if kind == FieldKind.YES_NO:
        return forms.TypedChoiceField(
            choices=[("", "—"), ("yes", "Yes"), ("no", "No")], coerce=_yes_no, empty_value=None, **common
        )
    if kind == FieldKind.DATE:
        return forms.DateField(widget=DateInput, **common)
    raise ValueError(f"Unknown field kind {kind!r}")


def _initial(definition: dict, value: Any) -> Any:
    if definition["kind"] == FieldKind.YES_NO and isinstance(value, bool):
        return "yes" if value else "no"
    if definition["kind"] == FieldKind.DATE and isinstance(value, str):
        return date.fromisoformat(value)
    return value


class NoteForm(NHSFormMixin, forms.Form):
    """Structured fields from the template, then free text.

    Required fields are enforced only when signing (or amending a signed note); a draft may be
    saved half-written. The service checks the values again against the note's template snapshot.
    """

    title = forms.CharField(
        label="Title", max_length=200, required=False, help_text="Leave as it is or name the note"
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args,
        definitions: list[dict],
        enforce_required: bool = True,
        note=None,
        with_reason: bool = False,
        **kwargs,
    ) -> None:
        if note is not None and "initial" not in kwargs:
            by_key = {d["key"]: d for d in definitions}
            kwargs["initial"] = {
                "title": note.title,
                "version": note.version,
                "free_text": note.free_text,
                **{k: _initial(by_key[k], v) for k, v in note.values.items() if k in by_key},
            }
        self.definitions = definitions
        fields: dict[str, forms.Field] = {"title": self.base_fields["title"]}
        for definition in definitions:
            fields[definition["key"]] = _field(
                definition, required=enforce_required and definition.get("required", False)
            )
        fields["free_text"] = forms.CharField(
            label="Notes",
            required=False,
            max_length=FREE_TEXT_LIMIT,
            widget=forms.Textarea(attrs={"rows": 8}),
            help_text="Anything the fields above do not cover",
        )
        if with_reason:
            fields["reason"] = forms.CharField(
                label="Reason for the amendment",
                max_length=500,
                help_text="Shown with the note and in its history",
            )
        fields["version"] = self.base_fields["version"]
        self.base_fields = fields  # this form's own fields; BaseForm copies them per instance
        super().__init__(*args, **kwargs)

    def values(self) -> dict[str, Any]:
        """The template fields' values, as the services take them (empty ones left out)."""
        keys = (d["key"] for d in self.definitions)
        return {k: self.cleaned_data[k] for k in keys if self.cleaned_data.get(k) not in (None, "")}
