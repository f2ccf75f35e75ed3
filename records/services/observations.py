from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records import news2
from records.errors import RecordError
from records.models import (
    Encounter,
    EncounterStatus,
    EntryStatus,
    ObservationSet,
    Patient,
    SpO2ScaleSetting,
)

OBSERVATION_FIELDS = (
    "respiration_rate",
    "spo2",
    "on_oxygen",
    "oxygen_device",
    "oxygen_flow",
    "systolic_bp",
    "diastolic_bp",
    "pulse",
    "consciousness",
    "temperature",
    "weight",
    "height",
    "pain_score",
)


def current_spo2_scale(patient: Patient) -> SpO2ScaleSetting | None:
    return SpO2ScaleSetting.objects.filter(patient=patient).select_related("set_by").first()


@transaction.atomic
def spo2_scale_set(*, set_by, patient: Patient, scale: int, reason: str) -> SpO2ScaleSetting:
    if scale not in (1, 2):
        raise RecordError("Choose SpO2 Scale 1 or Scale 2.", field="scale")
    if len(" ".join(reason.split())) < 5:
        raise RecordError(
            "Record why this scale is right for the patient (e.g. the blood gas result).", field="reason"
        )
    setting = SpO2ScaleSetting.objects.create(
        patient=patient, scale=scale, reason=reason.strip(), set_by=set_by, set_at=timezone.now()
    )
    audit_record(
        user=set_by, action=Action.UPDATE, patient_id=patient.pk, obj=setting, detail={"scale": scale}
    )
    return setting


def _vital_signs(values: dict[str, Any]) -> news2.VitalSigns | None:
    needed = ("respiration_rate", "spo2", "on_oxygen", "systolic_bp", "pulse", "consciousness", "temperature")
    if any(values.get(k) in (None, "") for k in needed):
        return None
    return news2.VitalSigns(**{k: values[k] for k in needed})


def score_set(obs: ObservationSet) -> None:
    """Fill the NEWS2 fields of a set from its values (left empty when the set is incomplete)."""
    vitals = _vital_signs({f: getattr(obs, f) for f in OBSERVATION_FIELDS})
    if vitals is None:
        obs.news2_total, obs.news2_scores, obs.news2_risk = None, {}, ""
        return
    result = news2.news2(vitals, scale=obs.spo2_scale)
    obs.news2_total, obs.news2_scores, obs.news2_risk = result.total, result.scores, result.risk.value


def result_of(obs: ObservationSet) -> news2.News2Result | None:
    if obs.news2_total is None:
        return None
    return news2.News2Result(total=obs.news2_total, scores=obs.news2_scores, scale=obs.spo2_scale)


def _check(values: dict[str, Any], taken_at: datetime) -> None:
    errors = {}
    try:
        news2.check_plausible(values)
    except news2.VitalSignsError as exc:
        errors.update(exc.errors)
    if taken_at > timezone.now() + timedelta(minutes=5):
        errors["taken_at"] = "The time taken cannot be in the future."
    if all(
        values.get(f) in (None, "") for f in OBSERVATION_FIELDS if f not in ("on_oxygen", "oxygen_device")
    ):
        errors["__all__"] = "Enter at least one observation."
    if errors:
        raise news2.VitalSignsError(errors)


@transaction.atomic
def observation_set_record(
    *, recorded_by, patient: Patient, taken_at: datetime | None = None, source: str = "form", **values: Any
) -> ObservationSet:
    """Record a set, score NEWS2 if complete, and queue any escalation alert after commit."""
    unknown = set(values) - set(OBSERVATION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown observation fields: {sorted(unknown)}")
    taken_at = taken_at or timezone.now()
    if values.get("temperature") is not None:
        values["temperature"] = news2.round_temperature(Decimal(values["temperature"]))
    _check(values, taken_at)
    setting = current_spo2_scale(patient)
    obs = ObservationSet(
        patient=patient,
        encounter=Encounter.objects.filter(patient=patient, status=EncounterStatus.ACTIVE).first(),
        taken_at=taken_at,
        recorded_at=timezone.now(),
        recorded_by=recorded_by,
        source=source,
        spo2_scale=setting.scale if setting else 1,
        **{k: v for k, v in values.items() if v is not None},
    )
    score_set(obs)
    obs.save()
    audit_record(
        user=recorded_by,
        action=Action.CREATE,
        patient_id=patient.pk,
        obj=obs,
        detail={"news2": obs.news2_total},
    )
    _queue_escalation(obs)
    return obs


def _queue_escalation(obs: ObservationSet) -> None:
    result = result_of(obs)
    if result is None or result.escalation == news2.Escalation.NONE:
        return
    from records.tasks import raise_news2_alert  # tasks import services: import here to avoid a cycle

    transaction.on_commit(lambda: raise_news2_alert.delay(obs.pk))


@transaction.atomic
def observation_set_mark_error(*, marked_by, obs: ObservationSet, reason: str) -> ObservationSet:
    locked = ObservationSet.objects.select_for_update().get(pk=obs.pk)
    if locked.status == EntryStatus.ENTERED_IN_ERROR:
        raise RecordError("This set is already marked as entered in error.")
    if not reason.strip():
        raise RecordError("Give the reason the set was entered in error.", field="reason")
    locked.status = EntryStatus.ENTERED_IN_ERROR
    locked.error_reason = reason.strip()
    locked._change_reason = "Entered in error"
    locked.save()
    audit_record(
        user=marked_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": locked.status},
    )
    return locked
