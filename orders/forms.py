"""The order form: the fields every order has, one field per question each chosen test asks, and a
reason field per warning the last attempt raised. The service decides what is missing or wrong
(the same rules as the API); the form only lays the answers out and maps refusals back to fields."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from epr.forms import DateInput, NHSFormMixin
from orders.models import OrderableTest, Priority
from orders.rules.checks import NO, YES, Question

WANTED_AT = time(8, 0)  # a test wanted on a later day is wanted for the morning round


def question_field_name(code: str, key: str) -> str:
    return f"q__{code}__{key}"


def _question_field(question: Question) -> forms.Field:
    label = question.text
    if question.answer_type == "yes-no":
        return forms.ChoiceField(
            label=label, choices=[(YES, YES), (NO, NO)], widget=forms.RadioSelect, required=False
        )
    if question.answer_type == "choice":
        return forms.ChoiceField(
            label=label,
            choices=[(c, c) for c in question.choices],
            widget=forms.RadioSelect if len(question.choices) <= 5 else forms.Select,
            required=False,
        )
    if question.answer_type == "number":
        field = forms.CharField(label=label, required=False, max_length=20)
        field.widget.attrs.update({"inputmode": "decimal", "class": "nhsuk-input nhsuk-input--width-5"})
        return field
    return forms.CharField(label=label, required=False, max_length=300)


def _css(widget: forms.Widget) -> str:
    if isinstance(widget, forms.Textarea):
        return "nhsuk-textarea"
    if isinstance(widget, forms.Select) and not isinstance(widget, forms.RadioSelect):
        return "nhsuk-select"
    return "nhsuk-input"


class OrderForm(NHSFormMixin, forms.Form):
    priority = forms.ChoiceField(
        label="Priority", choices=Priority.choices, initial=Priority.ROUTINE, widget=forms.RadioSelect
    )
    requested_on = forms.DateField(
        label="Wanted on", widget=DateInput, required=False, help_text="Leave blank for today"
    )
    clinical_details = forms.CharField(
        label="Clinical details",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the department needs to know: the question, the working diagnosis",
    )
    notes = forms.CharField(
        label="Notes for the department",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        tests: Sequence[OrderableTest],
        questions: dict[str, list[Question]],
        pending: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tests = list(tests)
        self.by_test: dict[str, list[str]] = {}
        for test in self.tests:
            names = []
            for question in questions.get(test.code, []):
                name = question_field_name(test.code, question.key)
                field = _question_field(question)
                field.show_optional = not question.required  # type: ignore[attr-defined]
                self.fields[name] = field
                names.append(name)
            self.by_test[test.code] = names
        self.pending = list(pending)
        for item in self.pending:
            name = f"reason__{item.key}"
            self.fields[name] = forms.CharField(
                label=f"Reason to order despite this: {item.warning.message}",
                max_length=500,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "class": "nhsuk-textarea"}),
            )
            self.fields[name].show_optional = False  # type: ignore[attr-defined]  # needed, the service says
        # The mixin styled the fields there were when it ran; these came after.
        for name, field in self.fields.items():
            if name.startswith(("q__", "reason__")):
                field.widget.attrs.setdefault("class", _css(field.widget))

    def answers(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("q__") and value:
                _, code, key = name.split("__", 2)
                found.setdefault(code, {})[key] = str(value)
        return found

    def reasons(self) -> dict[str, str]:
        return {
            name.removeprefix("reason__"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("reason__") and value
        }

    def requested_for(self) -> datetime:
        day: date | None = self.cleaned_data.get("requested_on")
        now = timezone.now()
        if day is None or day <= timezone.localdate():
            return now
        return timezone.make_aware(datetime.combine(day, WANTED_AT))

    def field_for_refusal(self, key: str) -> str | None:
        """The form field a service refusal keyed "<code>-<question>" belongs to."""
        code, _, question = key.partition("-")
        name = question_field_name(code, question) if question else ""
        return name if name in self.fields else None

    def sections(self) -> list[tuple[OrderableTest, list[Any]]]:
        """Each test that asks questions, with its question fields, for the template."""
        return [(t, [self[n] for n in self.by_test[t.code]]) for t in self.tests if self.by_test.get(t.code)]

    def reason_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith("reason__")]

    def main_fields(self) -> list[Any]:
        return [self[n] for n in ("priority", "requested_on", "clinical_details", "notes")]


class CancelForm(NHSFormMixin, forms.Form):
    reason = forms.CharField(label="Why is it cancelled?", max_length=500)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
