"""Clinical notes written from templates that an administrator configures in Django admin.

A template is a list of field definitions (structured fields) plus free text. A note keeps a snapshot
of its template's fields, so later edits to the template never change what a signed note showed.
Notes are drafted (seen only by their author), signed, countersigned where the author's role needs
it, amended with a reason, or marked entered-in-error; never deleted.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from epr.accounts.roles import CLINICAL_ROLES, Role
from records.models.core import Patient
from records.models.encounters import Encounter
from records.models.entries import ENTERED_IN_ERROR

__all__ = [
    "ClinicalNote",
    "FieldKind",
    "NoteStatus",
    "NoteTemplate",
    "NoteType",
    "note_rows",
    "template_field_errors",
]


class NoteType(models.TextChoices):
    ADMISSION_CLERKING = "admission-clerking", "Admission clerking"
    WARD_ROUND = "ward-round", "Ward round"
    NURSING = "nursing", "Nursing"
    MDT = "mdt", "Multidisciplinary team (MDT)"
    DISCHARGE = "discharge", "Discharge"


class FieldKind(models.TextChoices):
    TEXT = "text", "One line of text"
    TEXTAREA = "textarea", "Paragraph of text"
    NUMBER = "number", "Number"
    CHOICE = "choice", "Choose one from a list"
    YES_NO = "yes_no", "Yes or no"
    DATE = "date", "Date"


class NoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_COUNTERSIGNATURE = "awaiting-countersignature", "Awaiting countersignature"
    SIGNED = "signed", "Signed"
    COUNTERSIGNED = "countersigned", "Countersigned"
    ENTERED_IN_ERROR = ENTERED_IN_ERROR, "Entered in error"


FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_ATTRIBUTES = {"key", "label", "kind", "required", "choices", "help"}
# Names the note form itself uses; a template field may not take them.
RESERVED_KEYS = {"title", "free_text", "version", "reason", "template", "action", "page", "type"}
CLINICAL_ROLE_VALUES = sorted(str(r) for r in CLINICAL_ROLES)

FIELDS_HELP = (
    "The structured fields of the note, in order, as a JSON list. Each field is an object with "
    '"key" (lower-case letters, digits and _, unique, e.g. "plan"), "label" (shown to the writer), '
    '"kind" (one of: text, textarea, number, choice, yes_no, date), "required" (true if the note '
    'cannot be signed without it), "choices" (a list of options, for kind "choice" only) and '
    '"help" (optional hint). Example: [{"key": "plan", "label": "Plan", "kind": "textarea", '
    '"required": true}, {"key": "dnacpr", "label": "DNACPR in place", "kind": "yes_no"}]. '
    "Every note also has a free-text box. Changing a template never changes notes already written."
)


def template_field_errors(fields: Any) -> list[str]:
    """Everything wrong with a template's field definitions, as messages for an administrator."""
    if not isinstance(fields, list):
        return ["Fields must be a JSON list of field objects."]
    errors: list[str] = []
    seen: set[str] = set()
    for n, field in enumerate(fields, start=1):
        where = f"Field {n}"
        if not isinstance(field, dict):
            errors.append(f"{where} must be an object with a key, label and kind.")
            continue
        key = field.get("key")
        if isinstance(key, str) and key:
            where = f"Field {n} ({key})"
        unknown = set(field) - FIELD_ATTRIBUTES
        if unknown:
            errors.append(f"{where}: unknown attributes {', '.join(sorted(unknown))}.")
        if not isinstance(key, str) or not FIELD_KEY.match(key):
            errors.append(
                f"{where}: key must start with a lower-case letter and use only a-z, 0-9 and _ "
                "(at most 40 characters)."
            )
        elif key in RESERVED_KEYS:
            errors.append(f"{where}: {key} is reserved; choose another key.")
        elif key in seen:
            errors.append(f"{where}: key is used twice.")
        else:
            seen.add(key)
        if not isinstance(field.get("label"), str) or not field["label"].strip():
            errors.append(f"{where}: give a label.")
        kind = field.get("kind")
        if kind not in FieldKind.values:
            errors.append(f"{where}: kind must be one of {', '.join(FieldKind.values)}.")
        if not isinstance(field.get("required", False), bool):
            errors.append(f"{where}: required must be true or false.")
        if not isinstance(field.get("help", ""), str):
            errors.append(f"{where}: help must be text.")
        choices = field.get("choices")
        if kind == FieldKind.CHOICE:
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) and c.strip() for c in choices)
            ):
                errors.append(f"{where}: a choice field needs a list of options.")
            elif len(set(choices)) != len(choices):
                errors.append(f"{where}: options must differ.")
        elif choices not in (None, []):
            errors.append(f"{where}: only a choice field has options.")
    return errors


def _role_errors(roles: Any, label: str) -> list[str]:
    if not isinstance(roles, list) or not all(r in CLINICAL_ROLE_VALUES for r in roles):
        return [f"{label} must be a list of clinical roles ({', '.join(CLINICAL_ROLE_VALUES)})."]
    return []


class NoteTemplate(models.Model):
    """What a note asks for; configured by a system administrator without code."""

    name = models.CharField(max_length=100, unique=True)
    note_type = models.CharField(max_length=20, choices=NoteType.choices)
    description = models.CharField(max_length=255, blank=True, help_text="Shown when choosing a template")
    fields = models.JSONField(default=list, blank=True, help_text=FIELDS_HELP)
    writer_roles = models.JSONField(
        default=list,
        blank=True,
        help_text="Roles that may write this note. Leave empty for every role that writes notes.",
    )
    countersign_roles = models.JSONField(
        default=list,
        blank=True,
        help_text="Notes written by these roles must be countersigned by a doctor or nurse.",
    )
    active = models.BooleanField(default=True, help_text="Untick to stop new notes; old notes keep it")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["note_type", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = template_field_errors(self.fields)
        errors += _role_errors(self.writer_roles, "Writer roles")
        errors += _role_errors(self.countersign_roles, "Countersign roles")
        if errors:
            raise ValidationError({"fields": errors})

    def may_write(self, user) -> bool:
        return not self.writer_roles or user.role in self.writer_roles

    def needs_countersignature(self, user) -> bool:
        return user.role in self.countersign_roles


def note_rows(fields: list[dict], values: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, shown value) for each field with a value, in template order."""
    rows = []
    for field in fields:
        value = values.get(field["key"])
        if value is None or value == "":
            continue
        if field["kind"] == FieldKind.YES_NO:
            value = "Yes" if value else "No"
        elif field["kind"] == FieldKind.DATE:
            year, month, day = str(value).split("-")
            value = f"{day}-{month}-{year}"
        rows.append((field["label"], str(value)))
    return rows


class ClinicalNote(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_notes")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    template = models.ForeignKey(NoteTemplate, on_delete=models.PROTECT, related_name="notes")
    template_version = models.PositiveIntegerField()
    fields = models.JSONField(help_text="The template's field definitions when the note was started")
    note_type = models.CharField(max_length=20, choices=NoteType.choices)
    title = models.CharField(max_length=200)
    values = models.JSONField(default=dict, blank=True)
    free_text = models.TextField(blank=True)
    status = models.CharField(max_length=30, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    countersign_required = models.BooleanField(default=False)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amended_at = models.DateTimeField(null=True, blank=True)
    amendment_reason = models.TextField(blank=True, help_text="Reason for the latest amendment")
    error_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at", "-created_at", "-pk"]
        indexes = [models.Index(fields=["patient", "status"], name="note_patient_status")]
        permissions = [("countersign_clinicalnote", "Can countersign clinical notes")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status=NoteStatus.DRAFT)
                | models.Q(status=NoteStatus.ENTERED_IN_ERROR)
                | models.Q(signed_at__isnull=False),
                name="note_signed_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=NoteStatus.COUNTERSIGNED)
                | models.Q(countersigned_by__isnull=False, countersigned_at__isnull=False),
                name="note_countersigned_has_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rows(self) -> list[tuple[str, str]]:
        return note_rows(self.fields, self.values)

    @property
    def is_draft(self) -> bool:
        return self.status == NoteStatus.DRAFT

    @property
    def is_signed(self) -> bool:
        return self.status in (
            NoteStatus.SIGNED,
            NoteStatus.AWAITING_COUNTERSIGNATURE,
            NoteStatus.COUNTERSIGNED,
        )

    def may_see(self, user) -> bool:
        """A note never signed (a draft, or a discarded draft) is seen only by its author."""
        return self.signed_at is not None or self.author_id == user.pk

    def may_amend(self, user) -> bool:
        """Signed notes are amended, or marked in error, by their author or by a doctor."""
        return self.author_id == user.pk or user.role == Role.DOCTOR

    def may_countersign(self, user) -> bool:
        return self.status == NoteStatus.AWAITING_COUNTERSIGNATURE and self.author_id != user.pk
