"""What every clinical entry shares, in records and in every app built on it: it is never deleted, only
marked entered-in-error with a reason, and it carries who recorded it, when, and a version that a
stale edit is refused against (records.services.entries.lock_for_edit)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

__all__ = ["ENTERED_IN_ERROR", "ClinicalEntry", "EntryStatus", "Retractable", "history_note"]

# The one spelling of the struck-through status: FHIR's code, shared by every entry's status vocabulary.
ENTERED_IN_ERROR = "entered-in-error"


class EntryStatus(models.TextChoices):
    FINAL = "final", "Final"
    ENTERED_IN_ERROR = ENTERED_IN_ERROR, "Entered in error"


class Retractable(models.Model):
    """An entry that can be struck through but is never edited in place (an observation set).
    A model whose status has more states than final (a note, a care plan) overrides `status` with its
    own choices, which include ENTERED_IN_ERROR."""

    status = models.CharField(max_length=20, choices=EntryStatus.choices, default=EntryStatus.FINAL)
    error_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def entered_in_error(self) -> bool:
        return self.status == ENTERED_IN_ERROR


class ClinicalEntry(Retractable):
    """An entry a clinician records and may amend: who recorded it, when, and its version."""

    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


def history_note(row: models.Model, *, reason: str | None = None, user: Any = None) -> None:
    """What the row's next history entry records: why it changed and, outside a web request (a task,
    a command), who changed it. django-simple-history reads these two attributes when it saves."""
    if reason is not None:
        setattr(row, "_change_reason", reason)  # noqa: B010 - the attribute is simple-history's, not ours
    if user is not None:
        setattr(row, "_history_user", user)  # noqa: B010
