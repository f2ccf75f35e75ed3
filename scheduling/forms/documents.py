"""The document editor's form: one text area per heading the author writes (the fixed ones, filled
from the record at signing, are not fields), and the version it was opened at (the button, Save draft or
Sign, is the posted `action`)."""

from __future__ import annotations

from typing import Any

from django import forms

from epr.forms import NHSFormMixin
from scheduling.selectors.documents import MAX_SECTION, Heading

SAVE, SIGN = "save", "sign"


class DocumentForm(NHSFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, headings: list[Heading], texts: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for heading in headings:
            self.fields[heading.key] = forms.CharField(
                label=heading.heading + (" (required)" if heading.mandatory else ""),
                required=False,  # a draft may be saved with anything empty; signing checks the mandatory ones
                max_length=MAX_SECTION,
                initial=texts.get(heading.key, ""),
                # Tall enough for what was prefilled (a long stay's results), within reason.
                widget=forms.Textarea(
                    attrs={"rows": min(16, max(4, texts.get(heading.key, "").count("\n") + 2))}
                ),
            )
            self.fields[heading.key].show_optional = False  # type: ignore[attr-defined]
        # The mixin styled the fields it saw; these came after it (the service normalises line breaks).
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs.setdefault("class", "nhsuk-textarea")
                field.widget.attrs.setdefault("data-section", name)
        self.headings = headings

    def texts(self) -> dict[str, str]:
        """What was posted for each heading; a heading not posted at all keeps its text."""
        return {h.key: self.cleaned_data[h.key] for h in self.headings if h.key in self.data}
