"""Recording a dose at the bedside (closed loop): the wristband and the pack are checked against the
prescription (prescribing/rules/administration.py), and the dose is recorded only when every check
passes or the nurse has given a reason for each one policy lets them pass. A dose is recorded once:
the prescription's row is locked while its dose is recorded and the database refuses a second record
of one due time, so a second nurse (or a double click) is told who gave it and when."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from prescribing import policy
from prescribing.models import (
    Administration,
    AdministrationOutcome,
    Prescription,
    PrescriptionKind,
    Verification,
    VMPIngredient,
)
from prescribing.rules import administration as bedside
from prescribing.rules import checks, doses
from prescribing.rules.gs1 import PackScan, ScanError, parse_scan
from prescribing.selectors import prescriptions as selectors
from prescribing.services.catalogue import product_for_gtin
from prescribing.services.stock import stock_use_for
from records.errors import RecordError
from records.models.entries import history_note


class AdministrationRefused(RecordError):
    """The checks found something wrong; nothing was recorded. `refusals` are all of them, most
    serious first; those with `overridable` may be passed with a reason where policy allows."""

    def __init__(self, refusals: list[bedside.Refusal]) -> None:
        blocking = [r for r in refusals if not r.overridable]
        lead = blocking[0] if blocking else refusals[0]
        super().__init__(lead.message)
        self.refusals = refusals


class AlreadyRecorded(RecordError):
    """This dose (or this very form) was recorded already; `first` is that record."""

    def __init__(self, first: Administration) -> None:
        who = first.recorded_by.get_full_name() or first.recorded_by.username
        done = "given" if first.outcome == AdministrationOutcome.GIVEN else "recorded as not given"
        super().__init__(
            f"This dose was already {done} by {who} at {timezone.localtime(first.at):%H:%M on %d-%b-%Y}."
        )
        self.first = first


def order_of(prescription: Prescription) -> bedside.Order:
    vmp, amp = prescription.vmp, prescription.amp
    reason = prescription.stop_reason or prescription.get_status_display()
    if prescription.verification == Verification.REJECTED:
        reason = "it was rejected by the pharmacist."
    return bedside.Order(
        vmp_id=vmp.dmd_id,
        vmp_name=vmp.name,
        vtm_id=vmp.vtm.dmd_id if vmp.vtm else "",
        amp_id=amp.dmd_id if amp else "",
        amp_name=str(amp) if amp else "",
        active=prescription.may_be_given,
        stopped_reason=reason,
    )


def product_of_pack(gtin: str) -> bedside.Product | None:
    pack = product_for_gtin(gtin)
    if pack is None:
        return None
    amp = pack.amp
    return bedside.Product(
        vmp_id=amp.vmp.dmd_id,
        vmp_name=amp.vmp.name,
        amp_id=amp.dmd_id,
        amp_name=str(amp),
        vtm_id=amp.vmp.vtm.dmd_id if amp.vmp.vtm else "",
    )


def due_times_of(prescription: Prescription, *, since: datetime, until: datetime) -> list[datetime]:
    """The doses a prescription asks for between two moments: its times of day, or its one dose."""
    if prescription.kind == PrescriptionKind.ONCE:
        return [prescription.starts_at] if since <= prescription.starts_at <= until else []
    if prescription.kind != PrescriptionKind.REGULAR:
        return []
    clocks = [time.fromisoformat(t) for t in prescription.times_of_day]
    stop = prescription.stopped_at or prescription.ends_at
    if prescription.ends_at and stop and prescription.ends_at < stop:
        stop = prescription.ends_at
    return doses.due_times(clocks, start=prescription.starts_at, stop=stop, since=since, until=until)


def _lock(prescription: Prescription) -> Prescription:
    return (
        Prescription.objects.select_for_update(of=("self",))
        .select_related("vmp__vtm", "amp", "patient")
        .prefetch_related(
            Prefetch("vmp__ingredients", queryset=VMPIngredient.objects.select_related("ingredient"))
        )
        .get(pk=prescription.pk)
    )


def _already(prescription: Prescription, due_at: datetime | None, submission_key: str) -> None:
    found = Administration.objects.select_related("recorded_by").exclude(status="entered-in-error")
    first = None
    if submission_key:
        first = found.filter(submission_key=submission_key).first()
    if first is None and due_at is not None:
        first = found.filter(prescription=prescription, due_at=due_at).first()
    if first is not None:
        raise AlreadyRecorded(first)


def _check_due(prescription: Prescription, due_at: datetime | None) -> datetime | None:
    if prescription.kind == PrescriptionKind.AS_REQUIRED:
        return None
    if prescription.kind == PrescriptionKind.ONCE:
        return prescription.starts_at
    if due_at is None or due_at not in due_times_of(prescription, since=due_at, until=due_at):
        raise RecordError("That is not one of this prescription's due times.", field="due_at")
    return due_at


def _scan_pack(pack: str, today: date) -> tuple[PackScan | None, list[bedside.Refusal]]:
    if not pack.strip():
        return None, [
            bedside.Refusal(
                "no-pack-scan", "No medicine was scanned: scan the pack, or say why it cannot be.", True
            )
        ]
    try:
        return parse_scan(pack, today=today), []
    except ScanError as exc:
        return None, [
            bedside.Refusal("unreadable-pack", f"The medicine scan could not be read: {exc}", False)
        ]


def _given_times(prescription: Prescription) -> tuple[datetime, ...]:
    return tuple(
        Administration.objects.filter(prescription=prescription, outcome=AdministrationOutcome.GIVEN)
        .exclude(status="entered-in-error")
        .values_list("at", flat=True)
    )


def _first_dose(prescription: Prescription) -> bool:
    return not Administration.objects.filter(
        prescription=prescription, outcome=AdministrationOutcome.GIVEN
    ).exists()


def bedside_refusals(
    prescription: Prescription, *, due_at: datetime | None, wristband: str, pack: str, now: datetime
) -> tuple[PackScan | None, list[bedside.Refusal]]:
    """Everything the closed loop finds wrong with giving this dose now, most serious first."""
    patient = prescription.patient
    refusals: list[bedside.Refusal] = []
    wrong_patient = bedside.wristband_refusal(
        wristband,
        nhs_number=patient.nhs_number or "",
        hospital_number=patient.hospital_number or "",
        name=patient.display_name,
    )
    if wrong_patient:
        refusals.append(wrong_patient)
    today = timezone.localdate(now)
    scan, unreadable = _scan_pack(pack, today)
    refusals += unreadable
    order = order_of(prescription)
    if scan is not None:
        refusals += bedside.pack_refusals(scan, product_of_pack(scan.gtin), order, today=today)
    elif not order.active:
        refusals.append(
            bedside.Refusal("not-active", f"This prescription is not active: {order.stopped_reason}", False)
        )
    as_required = None
    if prescription.kind == PrescriptionKind.AS_REQUIRED:
        interval = prescription.min_interval_minutes
        as_required = doses.AsRequired(
            min_interval=None if interval is None else timedelta(minutes=interval),
            max_in_24_hours=prescription.max_doses_in_24_hours,
        )
    timing = bedside.time_refusal(
        due=due_at,
        now=now,
        window=policy.dose_window(),
        as_required=as_required,
        given=_given_times(prescription),
    )
    if timing:
        refusals.append(timing)
    refusals += _allergies_since(prescription)
    if prescription.verification != Verification.VERIFIED and not policy.unverified_may_be_given(
        kind=prescription.kind, first_dose=_first_dose(prescription)
    ):
        refusals.append(
            bedside.Refusal(
                "not-verified",
                "This prescription has not been verified by a pharmacist yet, and trust policy does not "
                "allow this dose before it is. Ask the ward pharmacist.",
                False,
            )
        )
    return scan, sorted(refusals, key=lambda r: r.overridable)


def _allergies_since(prescription: Prescription) -> list[bedside.Refusal]:
    """A recorded allergy the prescriber did not answer when prescribing (recorded since, most
    likely): the nurse is stopped, and may give it only with a reason (the prescriber confirmed)."""
    answered = set(prescription.checks.values_list("message", flat=True))
    found = checks.allergy_findings(
        prescription.vmp.name,
        selectors.ingredient_names(prescription.vmp),
        selectors.recorded_allergy_names(prescription.patient),
    )
    return [
        bedside.Refusal(
            "allergy",
            f"{f.message} It was not answered when prescribed: ask the prescriber before giving.",
            True,
        )
        for f in found
        if f.message not in answered
    ][:1]


def _witness_check(prescription: Prescription, given_by: Any, witness: Any) -> None:
    if not policy.needs_witness(prescription.vmp.controlled_drug_category):
        return
    if witness is None:
        raise RecordError(
            "This is a controlled drug: a second registered person must witness it and sign in below.",
            field="witness",
        )
    if witness.pk == given_by.pk:
        raise RecordError(
            "The witness must be someone other than the person giving the dose.", field="witness"
        )
    if not witness.has_perm("prescribing.witness_administration"):
        raise RecordError(f"{witness.get_full_name()} may not witness controlled drugs.", field="witness")


@transaction.atomic
def administration_give(
    *,
    given_by: Any,
    prescription: Prescription,
    due_at: datetime | None,
    wristband: str,
    pack: str,
    overrides: Mapping[str, str] | None = None,
    typed_reason: str = "",
    witness: Any = None,
    now: datetime | None = None,
    submission_key: str = "",
) -> Administration:
    """Record a dose as given, after the closed-loop checks. Raises AdministrationRefused (nothing
    saved) while a check fails that has no override reason or may not be overridden."""
    now = now or timezone.now()
    locked = _lock(prescription)
    _already(locked, due_at if locked.kind != PrescriptionKind.ONCE else locked.starts_at, submission_key)
    due_at = _check_due(locked, due_at)
    scan, refusals = bedside_refusals(locked, due_at=due_at, wristband=wristband, pack=pack, now=now)
    reasons = {code: " ".join(text.split()) for code, text in (overrides or {}).items()}
    if any(not r.overridable or not reasons.get(r.code) for r in refusals):
        raise AdministrationRefused(refusals)
    _witness_check(locked, given_by, witness)
    late = due_at is not None and doses.timing(due_at, now, policy.dose_window()) == doses.Timing.LATE
    given = Administration.objects.create(
        prescription=locked,
        patient=locked.patient,
        due_at=due_at,
        outcome=AdministrationOutcome.GIVEN,
        at=now,
        dose_value=locked.dose_on(timezone.localdate(due_at or now)),
        dose_unit=locked.dose_unit,
        route=locked.route,
        delayed=late,
        gtin=scan.gtin if scan else "",
        batch=scan.batch if scan else "",
        expiry=scan.expiry if scan else None,
        serial=scan.serial if scan else "",
        wristband_scanned=not typed_reason.strip(),
        pack_scanned=scan is not None and not typed_reason.strip(),
        typed_reason=typed_reason.strip(),
        overrides=[{"code": r.code, "message": r.message, "reason": reasons[r.code]} for r in refusals],
        given_unverified=locked.verification != Verification.VERIFIED,
        recorded_by=given_by,
        recorded_at=now,
        witness=witness,
        submission_key=submission_key,
    )
    stock_use_for(given)
    audit_record(
        user=given_by,
        action=Action.CREATE,
        patient_id=locked.patient_id,
        obj=given,
        detail={"overridden": [r.code for r in refusals], "witness": bool(witness)},
    )
    return given


@transaction.atomic
def administration_not_given(
    *,
    recorded_by: Any,
    prescription: Prescription,
    due_at: datetime | None,
    reason: str,
    text: str = "",
    now: datetime | None = None,
    submission_key: str = "",
) -> Administration:
    """Record that a due dose was not given, and why (a reason from the trust's list)."""
    now = now or timezone.now()
    known = dict(policy.not_given_reasons())
    if reason not in known:
        raise RecordError("Choose why the dose was not given.", field="reason")
    if reason == "other" and not text.strip():
        raise RecordError("Say why the dose was not given.", field="text")
    locked = _lock(prescription)
    if locked.kind == PrescriptionKind.AS_REQUIRED:
        raise RecordError("An as-required dose is only recorded when it is given.")
    _already(locked, due_at if locked.kind != PrescriptionKind.ONCE else locked.starts_at, submission_key)
    due_at = _check_due(locked, due_at)
    record = Administration.objects.create(
        prescription=locked,
        patient=locked.patient,
        due_at=due_at,
        outcome=AdministrationOutcome.NOT_GIVEN,
        at=now,
        not_given_reason=reason,
        not_given_text=text.strip(),
        recorded_by=recorded_by,
        recorded_at=now,
        submission_key=submission_key,
    )
    audit_record(
        user=recorded_by,
        action=Action.CREATE,
        patient_id=locked.patient_id,
        obj=record,
        detail={"not_given": reason},
    )
    return record


@transaction.atomic
def administration_mark_error(
    *, marked_by: Any, administration: Administration, reason: str
) -> Administration:
    """Strike a dose record through (recorded against the wrong dose, say); the due time is free again."""
    reason = " ".join(reason.split())
    if not reason:
        raise RecordError("Give the reason the record was made in error.", field="reason")
    locked = Administration.objects.select_for_update().get(pk=administration.pk)
    if locked.entered_in_error:
        raise RecordError("This record is already marked as entered in error.")
    locked.status, locked.error_reason = "entered-in-error", reason
    history_note(locked, reason=f"Entered in error: {reason}", user=marked_by)
    locked.save()
    audit_record(
        user=marked_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": "entered-in-error"},
    )
    return locked


__all__ = [
    "AdministrationRefused",
    "AlreadyRecorded",
    "administration_give",
    "administration_mark_error",
    "administration_not_given",
    "bedside",
    "bedside_refusals",
    "due_times_of",
]
