"""Merge, unmerge, link and archive patient records.

A merge moves every row that points at the duplicate (in any app) to the survivor and lists the
moved row ids on the merge record, so an unmerge moves exactly those rows back. Rows created on the
survivor after the merge stay with the survivor. Demographics are never overwritten by a merge.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records import signals
from records.errors import RecordError
from records.models import (
    BreakGlassAccess,
    Encounter,
    EncounterStatus,
    Patient,
    PatientGroupObjectPermission,
    PatientLink,
    PatientMerge,
    PatientStatus,
    PatientUserObjectPermission,
)
from records.models.entries import history_note
from records.services.access import care_access_sync
from records.services.alerts import alerts_supersede_before_merge

# Rows that record facts about a record rather than clinical data: they stay where they are.
NOT_MOVED_BY_MERGE = {
    PatientMerge,
    PatientLink,
    BreakGlassAccess,
    PatientGroupObjectPermission,
    PatientUserObjectPermission,
}


def _patient_foreign_keys() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) in any installed app that points at Patient."""
    found = []
    for model in apps.get_models():
        # History rows keep the patient they were written for.
        if model in NOT_MOVED_BY_MERGE or model is Patient or model.__name__.startswith("Historical"):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and field.related_model is Patient:
                found.append((model, field.name))
    return found


def _move_rows(moves: dict[str, list[int]], *, to_patient: Patient) -> None:
    for key, ids in moves.items():
        label, field = key.rsplit(":", 1)
        model = apps.get_model(label)
        model.objects.filter(pk__in=ids).update(**{field: to_patient})


@transaction.atomic
def patients_merge(*, merged_by, survivor: Patient, duplicate: Patient, reason: str) -> PatientMerge:
    if survivor.pk == duplicate.pk:
        raise RecordError("Choose two different records to merge.")
    if not reason.strip():
        raise RecordError("Give the reason for the merge.", field="reason")
    # Lock both in id order so two merges of the same pair cannot deadlock.
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk]).order_by("pk")
    }
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if not (survivor.is_active and duplicate.is_active):
        raise RecordError("Both records must be active to merge them.")
    if survivor.nhs_number and duplicate.nhs_number and survivor.nhs_number != duplicate.nhs_number:
        raise RecordError(
            "The records have different NHS numbers, so they are not the same person on the national spine. "
            "Resolve the NHS number first."
        )
    if Encounter.objects.filter(patient__in=[survivor, duplicate], status=EncounterStatus.ACTIVE).count() > 1:
        raise RecordError("Both records have a current admission. Discharge one admission before merging.")
    alerts_supersede_before_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, user=merged_by)
    moves: dict[str, list[int]] = {}
    for model, field in _patient_foreign_keys():
        ids = list(model._default_manager.filter(**{field: duplicate}).values_list("pk", flat=True))
        if ids:
            moves[f"{model._meta.label}:{field}"] = ids
    _move_rows(moves, to_patient=survivor)
    duplicate.status = PatientStatus.MERGED
    duplicate.merged_into = survivor
    duplicate.version += 1
    history_note(duplicate, reason=f"Merged into {survivor.hospital_number}")
    duplicate.save()
    merge = PatientMerge.objects.create(
        survivor=survivor,
        duplicate=duplicate,
        reason=reason.strip(),
        moved_rows=moves,
        merged_by=merged_by,
        merged_at=timezone.now(),
    )
    care_access_sync(patient=survivor)
    care_access_sync(patient=duplicate)
    detail = {
        "survivor": survivor.pk,
        "duplicate": duplicate.pk,
        "moved": {k: len(v) for k, v in moves.items()},
    }
    for patient in (survivor, duplicate):
        audit_record(user=merged_by, action=Action.MERGE, patient_id=patient.pk, obj=merge, detail=detail)
    transaction.on_commit(lambda: signals.patients_merged.send(sender=PatientMerge, merge=merge))
    return merge


@transaction.atomic
def patient_unmerge(*, unmerged_by, merge: PatientMerge, reason: str) -> PatientMerge:
    merge = PatientMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.unmerged_at is not None:
        raise RecordError("This merge has already been undone.")
    if not reason.strip():
        raise RecordError("Give the reason for undoing the merge.", field="reason")
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .filter(pk__in=[merge.survivor_id, merge.duplicate_id])
        .order_by("pk")
    }
    survivor, duplicate = locked[merge.survivor_id], locked[merge.duplicate_id]
    if (
        duplicate.nhs_number
        and Patient.objects.filter(nhs_number=duplicate.nhs_number, status=PatientStatus.ACTIVE)
        .exclude(pk=survivor.pk)
        .exists()
    ):
        raise RecordError("Another active record now holds the duplicate's NHS number; resolve that first.")
    _move_rows(merge.moved_rows, to_patient=duplicate)
    duplicate.status = PatientStatus.ACTIVE
    duplicate.merged_into = None
    duplicate.version += 1
    history_note(duplicate, reason=f"Unmerged from {survivor.hospital_number}")
    duplicate.save()
    merge.unmerged_by = unmerged_by
    merge.unmerged_at = timezone.now()
    merge.unmerge_reason = reason.strip()
    merge.save(update_fields=["unmerged_by", "unmerged_at", "unmerge_reason"])
    care_access_sync(patient=survivor)
    care_access_sync(patient=duplicate)
    for patient in (survivor, duplicate):
        audit_record(user=unmerged_by, action=Action.UNMERGE, patient_id=patient.pk, obj=merge)
    transaction.on_commit(lambda: signals.patients_unmerged.send(sender=PatientMerge, merge=merge))
    return merge


@transaction.atomic
def patients_link(*, linked_by, patient: Patient, other: Patient, reason: str) -> PatientLink:
    if patient.pk == other.pk:
        raise RecordError("A record cannot be linked to itself.")
    if not reason.strip():
        raise RecordError("Give the reason for linking the records.", field="reason")
    first, second = sorted([patient, other], key=lambda p: p.pk)
    link, created = PatientLink.objects.get_or_create(
        first=first,
        second=second,
        defaults={"reason": reason.strip(), "linked_by": linked_by, "linked_at": timezone.now()},
    )
    if not created:
        raise RecordError("These records are already linked.")
    for p in (first, second):
        audit_record(user=linked_by, action=Action.LINK, patient_id=p.pk, obj=link)
    return link


@transaction.atomic
def patient_archive(*, archived_by, patient: Patient, reason: str) -> Patient:
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if not locked.is_active:
        raise RecordError("Only an active record can be archived.")
    if not reason.strip():
        raise RecordError("Give the reason for archiving.", field="reason")
    if locked.encounters.filter(status=EncounterStatus.ACTIVE).exists():
        raise RecordError("The patient is in hospital; discharge them before archiving the record.")
    locked.status = PatientStatus.ARCHIVED
    locked.version += 1
    history_note(locked, reason=f"Archived: {reason.strip()}")
    locked.save()
    audit_record(user=archived_by, action=Action.ARCHIVE, patient_id=locked.pk, obj=locked)
    return locked
