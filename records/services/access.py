from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.access import CARE_PERMISSION
from records.errors import RecordError
from records.models import (
    BreakGlassAccess,
    BreakGlassOutcome,
    CareRelationship,
    Encounter,
    Patient,
    PatientGroupObjectPermission,
)
from records.registries.care_relationships import care_relationship_kind_label


def _care_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="records", codename=CARE_PERMISSION)


def care_access_sync(*, patient: Patient) -> None:
    """Make the guardian group permissions on a patient match their current care relationships."""
    # Under the patient's row lock, so two syncs (a transfer and the beat task) cannot race.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    now = timezone.now()
    current_groups = set(
        CareRelationship.objects.filter(patient=patient, access_withdrawn=False)
        .exclude(ends_at__lte=now)
        .values_list("group_id", flat=True)
    )
    permission = _care_permission()
    held = set(
        PatientGroupObjectPermission.objects.filter(
            content_object=patient, permission=permission
        ).values_list("group_id", flat=True)
    )
    PatientGroupObjectPermission.objects.filter(
        content_object=patient, permission=permission, group_id__in=held - current_groups
    ).delete()
    PatientGroupObjectPermission.objects.bulk_create(
        [
            PatientGroupObjectPermission(content_object=patient, permission=permission, group_id=group_id)
            for group_id in current_groups - held
        ]
    )


@transaction.atomic
def care_relationship_start(
    *, patient: Patient, group: Group, kind: str, encounter: Encounter | None, at=None
) -> CareRelationship:
    care_relationship_kind_label(kind)  # refuses a kind nobody registered
    relationship = CareRelationship.objects.create(
        patient=patient, group=group, kind=kind, encounter=encounter, started_at=at or timezone.now()
    )
    care_access_sync(patient=patient)
    return relationship


@transaction.atomic
def care_relationship_end(*, relationship: CareRelationship, at=None, grace: bool = True) -> CareRelationship:
    """End a relationship; access lasts a grace period (handover, letters) unless grace=False."""
    ended = at or timezone.now()
    relationship.ends_at = ended + settings.EPR_CARE_GRACE_PERIOD if grace else ended
    relationship.save(update_fields=["ends_at"])
    care_access_sync(patient=relationship.patient)
    return relationship


def withdraw_ended_care_relationships(*, now=None) -> int:
    """Withdraw access whose grace period has run out. Idempotent; run by Celery beat."""
    now = now or timezone.now()
    due = CareRelationship.objects.filter(access_withdrawn=False, ends_at__lte=now)
    patient_ids = set(due.values_list("patient_id", flat=True))
    for patient_id in patient_ids:
        with transaction.atomic():
            patient = Patient.objects.select_for_update().get(pk=patient_id)
            CareRelationship.objects.filter(patient=patient, access_withdrawn=False, ends_at__lte=now).update(
                access_withdrawn=True
            )
            care_access_sync(patient=patient)
    return len(patient_ids)


@transaction.atomic
def break_glass_start(*, user, patient: Patient, reason: str) -> BreakGlassAccess:
    reason = " ".join((reason or "").split())
    if len(reason) < 10:
        raise RecordError("Give the clinical reason for access in at least 10 characters.", field="reason")
    now = timezone.now()
    glass = BreakGlassAccess.objects.create(
        user=user,
        patient=patient,
        reason=reason,
        started_at=now,
        expires_at=now + settings.EPR_BREAK_GLASS_DURATION,
    )
    audit_record(
        user=user, action=Action.BREAK_GLASS, patient_id=patient.pk, obj=glass, break_glass_reason=reason
    )
    return glass


@transaction.atomic
def break_glass_review(
    *, reviewed_by, use: BreakGlassAccess, outcome: str, note: str = ""
) -> BreakGlassAccess:
    """A manager's (or privacy officer's) judgement of one break-glass use; recorded once, audited.

    An inappropriate use goes to the Caldicott guardian, who needs to know why: the note is required then.
    """
    locked = BreakGlassAccess.objects.select_for_update().get(pk=use.pk)
    note = (note or "").strip()
    if locked.reviewed_at is not None:
        raise RecordError(
            f"This use was already reviewed by {locked.reviewed_by} on {locked.reviewed_at:%d-%b-%Y}."
        )
    if locked.user_id == reviewed_by.pk:
        raise RecordError("You cannot review your own break-glass use; ask another manager.")
    if outcome not in BreakGlassOutcome.values:
        raise RecordError("Select whether the access was appropriate", field="outcome")
    if outcome == BreakGlassOutcome.INAPPROPRIATE and not note:
        raise RecordError("Enter why the access was inappropriate, for the Caldicott guardian", field="note")
    locked.review_outcome = outcome
    locked.review_note = note
    locked.reviewed_by = reviewed_by
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["review_outcome", "review_note", "reviewed_by", "reviewed_at"])
    audit_record(
        user=reviewed_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"review_outcome": outcome},
    )
    return locked
