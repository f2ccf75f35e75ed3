from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.tasks import queue_after_commit
from records import signals
from records.errors import AlreadySubmitted, RecordError
from records.models import (
    Encounter,
    EncounterStatus,
    EntryStatus,
    ObservationSet,
    Patient,
    SpO2ScaleSetting,
)
from records.models.entries import history_note
from records.rules import news2
from records.services.entries import strike_through
from records.services.observation_alerts import alerts_after_observations, alerts_withdraw_for_set
from records.services.patients import patient_require_writable

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
    patient_require_writable(patient)
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
    *,
    recorded_by,
    patient: Patient,
    taken_at: datetime | None = None,
    source: str = "form",
    submission_key: str = "",
    **values: Any,
) -> ObservationSet:
    """Record a set, score NEWS2 if complete, and queue any escalation alert after commit.

    With a form's `submission_key`, a second post of the same form (a double click, two posts at once)
    records nothing and raises AlreadySubmitted naming the first set."""
    patient_require_writable(patient)
    if submission_key:
        _lock_submission(submission_key)
        first = (
            ObservationSet.objects.filter(submission_key=submission_key).select_related("recorded_by").first()
        )
        if first is not None:
            raise AlreadySubmitted(first)
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
        submission_key=submission_key,
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
    _after_observations(obs)
    queue_escalation(obs)
    if obs.weight is not None:  # doses calculated from the last weight are checked again after commit
        transaction.on_commit(
            lambda: signals.weight_recorded.send(sender=ObservationSet, observation_set=obs)
        )
    return obs


def _after_observations(obs: ObservationSet) -> None:
    alerts_after_observations(obs=obs)


def queue_escalation(obs: ObservationSet) -> None:
    result = obs.news2_result
    if result is None or result.escalation == news2.Escalation.NONE:
        return
    queue_after_commit("records.tasks.raise_news2_alert", obs.pk)


@transaction.atomic
def observation_set_mark_error(*, marked_by, obs: ObservationSet, reason: str) -> ObservationSet:
    locked = strike_through(entry=obs, marked_by=marked_by, reason=reason)
    alerts_withdraw_for_set(obs=locked, user=marked_by)
    return locked


def _lock_submission(key: str) -> None:
    # Two posts of one form at the same moment: the second waits here, then finds the first's set.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"submission:{key}"])


def _is_recorded(value: Any) -> bool:
    return value not in (None, "")


def _lock_set_slot(patient: Patient, taken_at: datetime) -> None:
    # Two posts for a new set at the same moment must not make two sets: row locks cannot lock a row
    # that does not exist yet, so serialise on (patient, time) with a transaction-scoped advisory lock.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"observation-set:{patient.pk}:{taken_at.isoformat()}"],
        )


@transaction.atomic
def observation_set_add_values(
    *, added_by: Any, obs: ObservationSet, **values: Any
) -> tuple[ObservationSet, bool]:
    """Add values not yet in a final set, re-score NEWS2 and queue the escalation alert once it scores.

    A value already recorded is never replaced (sets are amended only by marking them entered in error):
    the same value again changes nothing, a different one is refused. Returns (set, whether it changed).
    """
    unknown = set(values) - set(OBSERVATION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown observation fields: {sorted(unknown)}")
    locked = ObservationSet.objects.select_for_update().get(pk=obs.pk)
    if locked.status != EntryStatus.FINAL:
        raise RecordError("This set was marked as entered in error; record a new set.")
    if _is_recorded(values.get("temperature")):
        values["temperature"] = news2.round_temperature(Decimal(values["temperature"]))
    new = {}
    for name, value in values.items():
        current = getattr(locked, name)
        if not _is_recorded(value) or current == value:
            continue
        if _is_recorded(current):
            label = news2.LABELS.get(name, name.replace("_", " ").capitalize())
            raise RecordError(
                f"{label} is already recorded in this set as {current}. A recorded value is not "
                "changed: mark the set entered in error and record it again.",
                field=name,
            )
        new[name] = value
    if not new:
        return locked, False
    merged = {name: getattr(locked, name) for name in OBSERVATION_FIELDS} | new
    news2.check_plausible({k: v for k, v in merged.items() if _is_recorded(v)})
    was_scored = locked.news2_total is not None
    for name, value in new.items():
        setattr(locked, name, value)
    score_set(locked)
    history_note(locked, reason=f"Added {', '.join(sorted(new))}")
    locked.save()
    audit_record(
        user=added_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"added": sorted(new), "news2": locked.news2_total},
    )
    _after_observations(locked)
    if not was_scored:
        queue_escalation(locked)  # the alert task is idempotent by set, so a repeat is harmless anyway
    return locked, True


@transaction.atomic
def observation_set_record_at(
    *, recorded_by: Any, patient: Patient, taken_at: datetime, **values: Any
) -> tuple[ObservationSet, bool]:
    """Record values sent one by one (FHIR Observations) into the set for that moment, starting it if
    needed. Returns (set, whether anything changed). Sets recorded on the form are never extended."""
    _lock_set_slot(patient, taken_at)
    existing = (
        ObservationSet.objects.select_for_update()
        .filter(patient=patient, taken_at=taken_at, source="fhir", status=EntryStatus.FINAL)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return observation_set_add_values(added_by=recorded_by, obs=existing, **values)
    if not any(_is_recorded(v) for k, v in values.items() if k not in ("on_oxygen", "oxygen_device")):
        # The service will not start a set from air or oxygen alone (a form's default): say why here.
        raise RecordError(
            "A new set cannot start with air or oxygen alone: post it with, or after, another vital sign "
            "taken at the same time.",
            field="on_oxygen",
        )
    obs = observation_set_record(
        recorded_by=recorded_by, patient=patient, taken_at=taken_at, source="fhir", **values
    )
    return obs, True
