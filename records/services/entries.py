"""What every kind of clinical entry shares: it is never deleted, only struck through with a reason."""

from __future__ import annotations

from django.db import models, transaction

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError, StaleEdit

ENTERED_IN_ERROR = "entered-in-error"


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
    locked = type(entry).objects.select_for_update().get(pk=entry.pk)
    if locked.status == ENTERED_IN_ERROR:
        raise RecordError("This entry is already marked as entered in error.")
    if expected_version is not None and getattr(locked, "version", None) != expected_version:
        raise StaleEdit()
    locked.status = ENTERED_IN_ERROR
    setattr(locked, reason_field, reason)
    if hasattr(locked, "version"):
        locked.version += 1
    locked._change_reason = f"Entered in error: {reason}"
    locked.save()
    audit_record(
        user=marked_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": ENTERED_IN_ERROR},
    )
    return locked
