"""What every kind of clinical entry shares: it is changed only under a row lock and from the version
the user saw, and it is never deleted, only struck through with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import QuerySet

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError, StaleEdit
from records.models.entries import ENTERED_IN_ERROR, history_note

Row = TypeVar("Row", bound=models.Model)


def lock_for_edit(
    row: Row,
    expected_version: int | None,
    *,
    noun: str = "entry",
    refuse: Callable[[Row], str] | None = None,
    queryset: QuerySet[Row] | None = None,
) -> Row:
    """The row, locked until the transaction ends, for a change. Refused, in this order: for the reason
    `refuse` gives (a care plan no longer active); if it was struck through; and, with
    expected_version, if someone changed it since the user opened it (StaleEdit, never a blind save).
    Call inside the transaction that writes the change."""
    source = queryset if queryset is not None else type(row)._default_manager.all()
    locked = source.select_for_update().get(pk=row.pk)
    reason = refuse(locked) if refuse is not None else ""
    if reason:
        raise RecordError(reason)
    if getattr(locked, "status", None) == ENTERED_IN_ERROR:
        raise RecordError(f"This {noun} was marked as entered in error and cannot be changed.")
    if expected_version is not None and getattr(locked, "version", None) != expected_version:
        raise StaleEdit()
    return locked


@transaction.atomic
def strike_through(
    *,
    entry: models.Model,
    marked_by,
    reason: str,
    reason_field: str = "error_reason",
    expected_version: int | None = None,
):
    """Mark an entry entered-in-error with the reason; it stays on the record and in its history.
    With expected_version, an entry changed since the user saw it is refused, not struck blind."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise RecordError("Give the reason the entry was made in error.", field="reason")
    locked: Any = lock_for_edit(  # any entry with a status and the patient's id
        entry,
        expected_version,
        refuse=lambda row: (
            "This entry is already marked as entered in error."
            if getattr(row, "status", None) == ENTERED_IN_ERROR
            else ""
        ),
    )
    locked.status = ENTERED_IN_ERROR
    setattr(locked, reason_field, reason)
    if hasattr(locked, "version"):
        locked.version += 1
    history_note(locked, reason=f"Entered in error: {reason}")
    locked.save()
    audit_record(
        user=marked_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": ENTERED_IN_ERROR},
    )
    return locked
