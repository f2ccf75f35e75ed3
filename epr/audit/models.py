from typing import Any, NoReturn

from django.db import models
from django.db.models.functions import Now


class Action(models.TextChoices):
    VIEW = "view", "Viewed"
    SEARCH = "search", "Searched"
    LIST = "list", "Listed"
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    ROLLBACK = "rollback", "Rolled back"
    ADMIT = "admit", "Admitted"
    TRANSFER = "transfer", "Transferred"
    DISCHARGE = "discharge", "Discharged"
    MERGE = "merge", "Merged"
    UNMERGE = "unmerge", "Unmerged"
    LINK = "link", "Linked"
    ARCHIVE = "archive", "Archived"
    BREAK_GLASS = "break_glass", "Break-glass access"
    EXPORT = "export", "Exported"
    DENIED = "denied", "Access refused"


class AuditEvent(models.Model):
    """One read or write of patient data. Append-only: the database refuses UPDATE and DELETE, the app's
    database role may only SELECT and INSERT, the database sets the time, and each committed row is
    chained to the one before by a hash (AuditChainLink; `manage.py audit_verify` checks it).

    No foreign keys, so no change elsewhere (a deleted user, a merged patient) can alter a row.
    """

    # Whatever the caller sends, a trigger replaces it with the database's clock.
    at = models.DateTimeField(db_default=Now(), db_index=True)
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    api_client = models.CharField(max_length=255, blank=True)
    patient_id = models.BigIntegerField(null=True)
    # An open vocabulary: the kernel's Action and what apps register (epr.audit.actions).
    action = models.CharField(max_length=20)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    client_address = models.GenericIPAddressField(null=True)
    channel = models.CharField(max_length=10)
    break_glass_reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient_id", "-at"], name="audit_patient_at")]
        permissions = [("view_patient_access_log", "Can see who accessed a patient's record")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or self.api_client} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("Audit events are append-only.")


class AuditChainLink(models.Model):
    """One link of the audit trail's hash chain, written by the database as an audit row commits:
    row_hash = sha256(prev_hash + the row's content), in commit order. The app's database role may
    only read these; the trigger that writes them runs with the owner's rights."""

    seq = models.BigIntegerField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_chainlink"
        default_permissions = ()

    def __str__(self) -> str:
        return f"link {self.seq}: audit row {self.event_id}"
