"""The concept picker's widgets: one combobox (a search box with a listbox of matching concepts) that
also works without JavaScript, as a list of radio options shown after a search is submitted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.safestring import SafeString

from epr.terminology.selectors import SEARCH_MIN_LENGTH, ConceptMatch


@dataclass
class PickerState:
    """What the picker shows: the chosen concept, and the matches for the search as typed."""

    code_name: str = ""
    previous_name: str = ""
    search_url: str = ""
    noun: str = "concept"
    text: str = ""
    chosen: ConceptMatch | None = None
    matches: list[ConceptMatch] = field(default_factory=list)

    @property
    def options(self) -> list[ConceptMatch]:
        """Radio options for the page without JavaScript: when there is something left to choose."""
        if len(self.matches) > 1 or (self.matches and self.chosen is None):
            return self.matches
        return []


class ConceptCombobox(forms.TextInput):
    """The search box; renders the listbox, the chosen concept and the code input beside it (the
    code's own form field renders nothing, see ConceptCodeInput). static/js/combobox.js enhances it."""

    template_name = "terminology/combobox.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"autocomplete": "off", "spellcheck": "false", "class": "nhsuk-input epr-combobox__input"}
        super().__init__({**base, **(attrs or {})})
        self.state = PickerState()

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        classes = context["widget"]["attrs"].get("class", "").split()
        if "epr-combobox__input" not in classes:  # NHSFormMixin may have replaced the class list
            context["widget"]["attrs"]["class"] = " ".join([*classes, "epr-combobox__input"])
        context["picker"] = self.state
        context["min_length"] = SEARCH_MIN_LENGTH
        return context


class ConceptCodeInput(forms.HiddenInput):
    """The chosen concept's code. ConceptCombobox renders the input that carries it (a hidden input, or
    the radio options), so this renders nothing of its own."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return SafeString("")
