from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records import signals
from records.errors import RecordError, StaleEdit
from records.models import (
    Bed,
    CareRelationship,
    CareRelationshipKind,
    DischargeDestination,
    Encounter,
    EncounterStatus,
    Patient,
    Team,
    Ward,
    WardStay,
)
from records.models.entries import history_note
from records.services.access import care_relationship_end, care_relationship_start
from records.services.alerts import alerts_readdress


def _check_bed(ward: Ward, bed: Bed | None) -> None:
    if bed is None:
        return
    if bed.ward_id != ward.pk:
        raise RecordError(f"{bed} is not on {ward}.", field="bed")
    # Lock the bed so two clerks allocating it at once queue up; the partial unique index backs this.
    locked = Bed.objects.select_for_update().get(pk=bed.pk)
    if not locked.active:
        raise RecordError(f"{bed} is closed.", field="bed")
    if WardStay.objects.filter(bed=locked, ended_at__isnull=True).exists():
        raise RecordError(f"{bed} on {ward} is occupied. Choose another bed.", field="bed")


def _check_time(at: datetime, *, not_before: datetime | None, what: str) -> None:
    if at > timezone.now() + timedelta(minutes=5):
        raise RecordError(f"The {what} time cannot be in the future.", field="at")
    if not_before is not None and at < not_before:
        raise RecordError(f"The {what} time must be after {timezone.localtime(not_before):%d-%b-%Y %H:%M}.")


def _create_stay(**kwargs) -> WardStay:
    try:
        with transaction.atomic():
            return WardStay.objects.create(**kwargs)
    except IntegrityError as exc:
        raise RecordError("That bed was taken a moment ago. Choose another bed.", field="bed") from exc


@transaction.atomic
def encounter_admit(
    *,
    admitted_by,
    patient: Patient,
    ward: Ward,
    bed: Bed | None,
    consultant,
    specialty: str,
    admission_method: str,
    team: Team | None = None,
    admitted_at: datetime | None = None,
) -> Encounter:
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if not locked.is_active:
        raise RecordError("This record is merged or archived; admit the patient on the current record.")
    if locked.date_of_death:
        raise RecordError("This patient is recorded as deceased.")
    if Encounter.objects.filter(patient=locked, status=EncounterStatus.ACTIVE).exists():
        raise RecordError("This patient is already admitted. Transfer them instead.")
    at = admitted_at or timezone.now()
    _check_time(at, not_before=None, what="admission")
    _check_bed(ward, bed)
    encounter = Encounter.objects.create(
        patient=locked,
        admitted_at=at,
        admission_method=admission_method,
        specialty=specialty,
        consultant=consultant,
        team=team,
        admitted_by=admitted_by,
    )
    _create_stay(encounter=encounter, ward=ward, bed=bed, started_at=at, moved_by=admitted_by)
    care_relationship_start(
        patient=locked, group=ward.staff_group, kind=CareRelationshipKind.WARD, encounter=encounter, at=at
    )
    if team is not None:
        care_relationship_start(
            patient=locked, group=team.staff_group, kind=CareRelationshipKind.TEAM, encounter=encounter, at=at
        )
    audit_record(
        user=admitted_by,
        action=Action.ADMIT,
        patient_id=locked.pk,
        obj=encounter,
        detail={"ward": ward.code, "bed": bed.label if bed else ""},
    )
    transaction.on_commit(lambda: signals.patient_admitted.send(sender=Encounter, encounter=encounter))
    return encounter


def _lock_active(encounter: Encounter, expected_version: int | None) -> Encounter:
    locked = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    if locked.status != EncounterStatus.ACTIVE:
        raise RecordError("This admission has already ended.")
    if expected_version is not None and locked.version != expected_version:
        raise StaleEdit()
    return locked


def _end_ward_relationship(encounter: Encounter, ward: Ward, at: datetime) -> None:
    for relationship in CareRelationship.objects.filter(
        encounter=encounter, group=ward.staff_group, ends_at__isnull=True
    ):
        care_relationship_end(relationship=relationship, at=at)


@transaction.atomic
def encounter_transfer(
    *,
    transferred_by,
    encounter: Encounter,
    ward: Ward,
    bed: Bed | None,
    expected_version: int | None = None,
    transferred_at: datetime | None = None,
    reason: str = "",
) -> Encounter:
    locked = _lock_active(encounter, expected_version)
    current = (
        WardStay.objects.select_for_update()
        .select_related("ward")
        .get(encounter=locked, ended_at__isnull=True)
    )
    if current.ward_id == ward.pk and current.bed_id == (bed.pk if bed else None):
        raise RecordError("The patient is already in that place.", field="bed")
    at = transferred_at or timezone.now()
    _check_time(at, not_before=current.started_at, what="transfer")
    current.ended_at = at
    current.save(update_fields=["ended_at"])
    _check_bed(ward, bed)
    _create_stay(
        encounter=locked, ward=ward, bed=bed, started_at=at, moved_by=transferred_by, reason=reason.strip()
    )
    if current.ward_id != ward.pk:
        _end_ward_relationship(locked, current.ward, at)
        care_relationship_start(
            patient=locked.patient,
            group=ward.staff_group,
            kind=CareRelationshipKind.WARD,
            encounter=locked,
            at=at,
        )
    locked.version += 1
    locked.save(update_fields=["version"])
    alerts_readdress(encounter=locked)
    audit_record(
        user=transferred_by,
        action=Action.TRANSFER,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"from_ward": current.ward.code, "to_ward": ward.code, "bed": bed.label if bed else ""},
    )
    from_ward = current.ward
    transaction.on_commit(
        lambda: signals.patient_transferred.send(
            sender=Encounter, encounter=locked, from_ward=from_ward, to_ward=ward
        )
    )
    return locked


@transaction.atomic
def encounter_discharge(
    *,
    discharged_by,
    encounter: Encounter,
    destination: str,
    expected_version: int | None = None,
    discharged_at: datetime | None = None,
    died_at: datetime | None = None,
) -> Encounter:
    """End the admission. A destination of "patient died" needs the time of death, which is written
    on the patient (date and time of death) in the same transaction."""
    locked = _lock_active(encounter, expected_version)
    current = WardStay.objects.select_for_update().get(encounter=locked, ended_at__isnull=True)
    at = discharged_at or timezone.now()
    _check_time(at, not_before=current.started_at, what="discharge")
    if destination == DischargeDestination.DIED:
        _record_death(encounter=locked, died_at=died_at, discharged_at=at, discharged_by=discharged_by)
    current.ended_at = at
    current.save(update_fields=["ended_at"])
    locked.status = EncounterStatus.FINISHED
    locked.discharged_at = at
    locked.discharged_by = discharged_by
    locked.discharge_destination = destination
    locked.version += 1
    locked.save()
    for relationship in CareRelationship.objects.filter(encounter=locked, ends_at__isnull=True):
        care_relationship_end(relationship=relationship, at=at)
    audit_record(
        user=discharged_by,
        action=Action.DISCHARGE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"died": destination == DischargeDestination.DIED},
    )
    transaction.on_commit(lambda: signals.patient_discharged.send(sender=Encounter, encounter=locked))
    return locked


def _record_death(
    *, encounter: Encounter, died_at: datetime | None, discharged_at: datetime, discharged_by
) -> None:
    if died_at is None:
        raise RecordError("Enter the date and time of death.", field="died_at")
    if died_at > timezone.now() + timedelta(minutes=5):
        raise RecordError("The time of death cannot be in the future.", field="died_at")
    if died_at < encounter.admitted_at:
        raise RecordError(
            "The time of death cannot be before the admission "
            f"({timezone.localtime(encounter.admitted_at):%d-%b-%Y %H:%M}).",
            field="died_at",
        )
    if died_at > discharged_at:
        raise RecordError("The time of death cannot be after the discharge time.", field="died_at")
    patient = Patient.objects.select_for_update().get(pk=encounter.patient_id)
    local = timezone.localtime(died_at)
    patient.date_of_death = local.date()
    patient.time_of_death = local.time().replace(second=0, microsecond=0)
    patient.version += 1
    history_note(patient, reason="Died in hospital (recorded at discharge)", user=discharged_by)
    patient.save()
