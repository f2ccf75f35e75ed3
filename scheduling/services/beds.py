"""The bed board's writes: a bed request raised, allocated to a free bed, the patient arrived in it
(admitted or transferred through records' services) or the request cancelled; a bed's own state
(awaiting cleaning after someone leaves, clean again, blocked or closed with a reason, reopened).

A bed never holds two patients: allocation locks records' Bed row and the unique constraint
bed_request_one_allocation backs it; the move itself goes through records' encounter services, whose
WardStay constraint wardstay_bed_free is the last guard. Every refusal is a RecordError."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError, StaleEdit
from records.models import (
    AdmissionMethod,
    Bed,
    Encounter,
    EncounterStatus,
    Patient,
    Ward,
    WardStay,
)
from records.models.entries import history_note
from records.services.encounters import encounter_admit, encounter_transfer
from scheduling.models import BedCondition, BedRequest, BedRequestSource, BedRequestStatus, BedState

# How a patient who was not yet admitted comes in, by where the request came from.
ADMISSION_METHOD = {
    BedRequestSource.EMERGENCY: AdmissionMethod.EMERGENCY_ED,
    BedRequestSource.ASSESSMENT: AdmissionMethod.EMERGENCY_OTHER,
    BedRequestSource.THEATRES: AdmissionMethod.PLANNED,
    BedRequestSource.ELECTIVE: AdmissionMethod.ELECTIVE,
    BedRequestSource.WARD: AdmissionMethod.EMERGENCY_OTHER,
}
UNAVAILABLE = {BedCondition.CLEANING, BedCondition.BLOCKED, BedCondition.CLOSED}


def _clean_text(value: str, *, field: str, what: str, required: bool = False) -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise RecordError(f"Enter {what}.", field=field)
    if len(text) > 300:
        raise RecordError(f"Keep {what} to 300 characters or fewer.", field=field)
    return text


@transaction.atomic
def bed_request_create(
    *,
    requested_by: Any,
    patient: Patient,
    source: str,
    specialty: str,
    from_ward: Ward | None = None,
    wanted_ward: Ward | None = None,
    needs: str = "",
    urgent: bool = False,
) -> BedRequest:
    if source not in BedRequestSource.values:
        raise RecordError("Choose where the request comes from.", field="source")
    if source == BedRequestSource.WARD and from_ward is None:
        raise RecordError("Choose the ward the patient is on now.", field="from_ward")
    if not patient.is_active or patient.date_of_death:
        raise RecordError("This record is merged, archived or the patient has died: no bed can be requested.")
    request = BedRequest(
        patient=patient,
        source=source,
        specialty=specialty,
        from_ward=from_ward,
        wanted_ward=wanted_ward,
        needs=_clean_text(needs, field="needs", what="the patient's needs"),
        urgent=urgent,
        requested_by=requested_by,
        requested_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:  # bed_request_one_open: one queue per patient
        raise RecordError(
            "This patient already has a bed request waiting or allocated: change that one instead."
        ) from exc
    audit_record(
        user=requested_by, action=Action.CREATE, patient_id=patient.pk, obj=request, detail={"source": source}
    )
    return request


def _lock_request(request: BedRequest, version: int, *, allowed: tuple[str, ...]) -> BedRequest:
    locked = BedRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status not in allowed:
        raise RecordError(f"This request is already {locked.get_status_display().lower()}.")
    if locked.version != version:
        raise StaleEdit()
    return locked


def _refuse_unless_free(bed: Bed, *, but_for: BedRequest | None = None) -> Bed:
    """Lock the bed and refuse it unless it is active, empty, clean and open, and promised to nobody
    else; two bed managers allocating one bed at once queue on this lock."""
    locked = Bed.objects.select_for_update(of=("self",)).select_related("ward", "bay").get(pk=bed.pk)
    if not locked.active or not locked.ward.active:
        raise RecordError(f"{locked} on {locked.ward} is not in use.", field="bed")
    if WardStay.objects.filter(bed=locked, ended_at__isnull=True).exists():
        raise RecordError(f"{locked} on {locked.ward} is occupied. Choose another bed.", field="bed")
    state = BedState.objects.filter(bed=locked).first()
    if state is not None and state.condition in UNAVAILABLE:
        raise RecordError(
            f"{locked} on {locked.ward} is {state.get_condition_display().lower()}. Choose another bed.",
            field="bed",
        )
    promised = BedRequest.objects.filter(bed=locked, status=BedRequestStatus.ALLOCATED)
    if but_for is not None:
        promised = promised.exclude(pk=but_for.pk)
    if promised.exists():
        raise RecordError(
            f"{locked} on {locked.ward} was just allocated to another request. Choose another bed.",
            field="bed",
        )
    return locked


@transaction.atomic
def bed_allocate(*, allocated_by: Any, request: BedRequest, bed: Bed, version: int) -> BedRequest:
    """Promise a free bed to a waiting (or already allocated: a change of bed) request."""
    locked = _lock_request(request, version, allowed=(BedRequestStatus.WAITING, BedRequestStatus.ALLOCATED))
    free = _refuse_unless_free(bed, but_for=locked)
    locked.bed = free
    locked.status = BedRequestStatus.ALLOCATED
    locked.allocated_by = allocated_by
    locked.allocated_at = timezone.now()
    locked.version += 1
    history_note(locked, reason=f"Allocated {free} on {free.ward}")
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError as exc:  # bed_request_one_allocation, should the lock ever be bypassed
        raise RecordError(
            f"{free} on {free.ward} was just allocated to another request. Choose another bed.", field="bed"
        ) from exc
    audit_record(
        user=allocated_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"allocated": free.ward.code, "bed": free.label},
    )
    return locked


@transaction.atomic
def bed_request_arrived(*, by: Any, request: BedRequest, version: int, consultant: Any = None) -> BedRequest:
    """The patient is in the allocated bed: admitted there (with `consultant`) if not yet in hospital,
    otherwise transferred there from where they are."""
    locked = _lock_request(request, version, allowed=(BedRequestStatus.ALLOCATED,))
    if locked.bed_id is None:  # an allocated request always has its bed; kept for the type checker
        raise RecordError("This request has no bed allocated.")
    bed = Bed.objects.select_related("ward", "bay").get(pk=locked.bed_id)
    encounter = Encounter.objects.filter(patient_id=locked.patient_id, status=EncounterStatus.ACTIVE).first()
    try:
        with transaction.atomic():
            if encounter is None:
                if consultant is None:
                    raise RecordError(
                        "Choose the consultant the patient is admitted under.", field="consultant"
                    )
                encounter_admit(
                    admitted_by=by,
                    patient=locked.patient,
                    ward=bed.ward,
                    bed=bed,
                    consultant=consultant,
                    specialty=locked.specialty,
                    admission_method=ADMISSION_METHOD[BedRequestSource(locked.source)],
                )
            else:
                encounter_transfer(
                    transferred_by=by,
                    encounter=encounter,
                    ward=bed.ward,
                    bed=bed,
                    reason=f"Bed request from {locked.get_source_display().lower()}",
                )
    except IntegrityError as exc:  # wardstay_bed_free: someone else moved into the bed
        raise RecordError(f"{bed} on {bed.ward} was taken a moment ago. Allocate another bed.") from exc
    locked.status = BedRequestStatus.ARRIVED
    locked.closed_at = timezone.now()
    locked.version += 1
    history_note(locked, reason="Arrived in the bed")
    locked.save()
    audit_record(
        user=by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"arrived": bed.label}
    )
    return locked


@transaction.atomic
def bed_request_cancel(*, by: Any, request: BedRequest, reason: str, version: int) -> BedRequest:
    text = _clean_text(reason, field="reason", what="the reason the request is cancelled", required=True)
    locked = _lock_request(request, version, allowed=(BedRequestStatus.WAITING, BedRequestStatus.ALLOCATED))
    locked.status = BedRequestStatus.CANCELLED
    locked.cancel_reason = text
    locked.closed_at = timezone.now()
    locked.version += 1
    history_note(locked, reason=f"Cancelled: {text}")
    locked.save()  # the bed it held (if any) is free again: the constraint counts allocated rows only
    audit_record(
        user=by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"cancelled": True}
    )
    return locked


# --- a bed's own state ---


def _lock_state(bed: Bed, version: int | None) -> tuple[Bed, BedState | None]:
    locked = Bed.objects.select_for_update(of=("self",)).select_related("ward", "bay").get(pk=bed.pk)
    state = BedState.objects.select_for_update().filter(bed=locked).first()
    if version is not None and (state.version if state else 0) != version:
        raise StaleEdit()
    return locked, state


def _set_state(
    *, bed: Bed, state: BedState | None, condition: str, reason: str, by: Any, at: datetime | None = None
) -> BedState:
    if state is None:
        state = BedState(bed=bed, version=0)
    state.condition = condition
    state.reason = reason
    state.changed_by = by
    state.changed_at = at or timezone.now()
    state.version += 1
    history_note(state, reason=f"{state.get_condition_display()}{': ' + reason if reason else ''}")
    state.save()
    audit_record(user=by, action=Action.UPDATE, obj=state, detail={"condition": condition, "bed": bed.label})
    return state


@transaction.atomic
def bed_close(*, by: Any, bed: Bed, condition: str, reason: str, version: int) -> BedState:
    """Block (for now: a leak, infection control) or close (out of use) a bed, with the reason."""
    if condition not in (BedCondition.BLOCKED, BedCondition.CLOSED):
        raise RecordError("Choose blocked or closed.", field="condition")
    text = _clean_text(reason, field="reason", what="the reason", required=True)
    locked, state = _lock_state(bed, version)
    if WardStay.objects.filter(bed=locked, ended_at__isnull=True).exists():
        raise RecordError(f"{locked} has a patient in it: move the patient before closing the bed.")
    if BedRequest.objects.filter(bed=locked, status=BedRequestStatus.ALLOCATED).exists():
        raise RecordError(f"{locked} is allocated to a request: allocate that request another bed first.")
    return _set_state(bed=locked, state=state, condition=condition, reason=text, by=by)


@transaction.atomic
def bed_make_available(*, by: Any, bed: Bed, version: int) -> BedState:
    """Cleaned, unblocked or reopened: the bed can be allocated again."""
    locked, state = _lock_state(bed, version)
    if state is None or state.condition == BedCondition.AVAILABLE:
        raise RecordError(f"{locked} is already available.")
    return _set_state(bed=locked, state=state, condition=BedCondition.AVAILABLE, reason="", by=by)


@transaction.atomic
def bed_left(*, bed_id: int, by: Any, at: datetime | None = None) -> BedState | None:
    """Someone left the bed (discharged or moved): it awaits cleaning, unless it is blocked or closed
    (that stays) or someone is already in it again."""
    locked, state = _lock_state(Bed(pk=bed_id), None)
    if state is not None and state.condition in (BedCondition.BLOCKED, BedCondition.CLOSED):
        return state
    if WardStay.objects.filter(bed=locked, ended_at__isnull=True).exists():
        return state
    return _set_state(bed=locked, state=state, condition=BedCondition.CLEANING, reason="", by=by, at=at)


def bed_left_by_encounter(*, encounter: Encounter) -> BedState | None:
    """The bed this encounter's last ended stay was in: the one a discharge or a move freed."""
    stay = (
        WardStay.objects.filter(encounter=encounter, ended_at__isnull=False, bed__isnull=False)
        .order_by("-ended_at", "-pk")
        .first()
    )
    if stay is None or stay.bed_id is None:
        return None
    who = encounter.discharged_by if encounter.discharged_by_id else _mover(encounter) or stay.moved_by
    return bed_left(bed_id=stay.bed_id, by=who, at=stay.ended_at)


def _mover(encounter: Encounter) -> Any:
    current = (
        WardStay.objects.filter(encounter=encounter, ended_at__isnull=True).select_related("moved_by").first()
    )
    return current.moved_by if current else None
