"""Forms for subject access requests: logging a request, and the redaction choices."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils import timezone

from epr.forms import MemorableDateField, NHSFormMixin
from records.models import RequesterKind
from records.registries.subject_access import SectionEntry
from records.selectors.subject_access import ExportSection

# Suggestions for the reason field; any reason may be typed.
REDACTION_REASONS = (
    "Third-party information (Data Protection Act 2018, Schedule 2, paragraph 16)",
    "Serious harm to the patient or another person (Data Protection Act 2018, Schedule 3, paragraph 5)",
    "Information from a third party given in confidence",
    "Legal professional privilege",
)


class SubjectAccessRequestForm(NHSFormMixin, forms.Form):
    # A date copied from the letter or email: the NHS date input. A future date is refused by the service.
    received_on = MemorableDateField(
        label="Date the request was received",
        help_text="The one-month deadline runs from this day, even if the request is logged later.",
    )
    requester_kind = forms.ChoiceField(
        label="Who is asking", choices=RequesterKind.choices, initial=RequesterKind.PATIENT
    )
    requester_description = forms.CharField(
        label="Representative's name and authority",
        required=False,
        max_length=255,
        help_text="If someone is asking for the patient: who, and on what authority (consent, "
        "lasting power of attorney, parental responsibility).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()


@dataclass
class RedactionRow:
    section: str
    entry: SectionEntry
    checked: bool
    reason: str
    error: str = ""

    @property
    def value(self) -> str:
        return f"{self.section}:{self.entry.id}"

    @property
    def reason_name(self) -> str:
        return f"reason:{self.section}:{self.entry.id}"

    @property
    def input_id(self) -> str:
        return f"redact-{self.section}-{self.entry.id}"


@dataclass
class RedactionGroup:
    key: str
    title: str
    rows: list[RedactionRow]


def redaction_groups(
    listed: list[ExportSection], current: list[dict[str, str]], data=None
) -> list[RedactionGroup]:
    """Every listed entry with its tick and reason: from the posted data, or else the saved choices."""
    saved = {(r["section"], r["entry_id"]): r["reason"] for r in current}
    ticked = set(data.getlist("redact")) if data is not None else set()
    groups = []
    for section in listed:
        key = section.key
        rows = []
        for entry in section.entries:
            row = RedactionRow(section=key, entry=entry, checked=False, reason="")
            if data is None:
                row.reason = saved.get((key, entry.id), "")
                row.checked = (key, entry.id) in saved
            else:
                row.reason = " ".join(data.get(row.reason_name, "").split())
                row.checked = row.value in ticked
                if row.checked and not row.reason:
                    row.error = "Give the reason this entry is withheld."
            rows.append(row)
        groups.append(RedactionGroup(key=key, title=section.title, rows=rows))
    return groups


def chosen_redactions(groups: list[RedactionGroup]) -> list[dict[str, str]]:
    return [
        {"section": row.section, "entry_id": row.entry.id, "reason": row.reason}
        for group in groups
        for row in group.rows
        if row.checked
    ]


def redaction_errors(groups: list[RedactionGroup]) -> list[RedactionRow]:
    return [row for group in groups for row in group.rows if row.error]
