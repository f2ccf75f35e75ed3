"""Waiting lists and their RTT clocks: an accepted referral's entry starts its clock on the day the
referral was received, and each clock event (a decision to admit, a clock stop, a new clock start) is
checked against the whole pathway by scheduling/rules/rtt.py before it is kept. breach_on follows the
events, so the waiting list sorts by it in the database; a stopped or nullified clock takes the entry
off the list. Pauses are refused: NHS England removed the patient pause from 1 October 2015."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.services.entries import lock_for_edit
from scheduling.models import ClockEvent, Referral, WaitingKind, WaitingListEntry, WaitingStatus
from scheduling.rules import rtt

START, STOP, DECISION_TO_ADMIT, PAUSE = "start", "stop", "decision-to-admit", "pause"
EVENT_KINDS = {
    START: "Clock start",
    STOP: "Clock stop",
    DECISION_TO_ADMIT: "Decision to admit",
    PAUSE: "Pause",
}
START_LABELS = {
    rtt.StartReason.REFERRAL: "Referral received",
    rtt.StartReason.AFTER_ACTIVE_MONITORING: "End of active monitoring: decision to treat",
    rtt.StartReason.SECOND_BILATERAL: "Fit and ready for the second bilateral procedure",
    rtt.StartReason.NEW_TREATMENT: "Decision to start a substantively new treatment",
    rtt.StartReason.REBOOKED_AFTER_DNA: "Rebooked after a DNA of the first appointment",
}
STOP_LABELS = {
    rtt.StopReason.FIRST_DEFINITIVE_TREATMENT: "First definitive treatment started",
    rtt.StopReason.ACTIVE_MONITORING: "Start of active monitoring",
    rtt.StopReason.NOT_TO_TREAT: "Decision not to treat (or no treatment needed)",
    rtt.StopReason.PATIENT_DECLINED: "Patient declined treatment",
    rtt.StopReason.DNA_FIRST_APPOINTMENT: "DNA of the first appointment (clock nullified)",
    rtt.StopReason.DNA_DISCHARGED: "DNA of a later appointment: discharged to the referrer",
}


def rtt_event(event: ClockEvent) -> rtt.Event:
    """The rule's event for a stored one. A stored pause (only under the rules before October 2015)
    keeps no offers, so it cannot be replayed: refuse it rather than guess."""
    if event.kind == START:
        return rtt.ClockStart(event.on, rtt.StartReason(event.reason or rtt.StartReason.REFERRAL))
    if event.kind == STOP:
        return rtt.ClockStop(event.on, rtt.StopReason(event.reason))
    if event.kind == DECISION_TO_ADMIT:
        return rtt.DecisionToAdmit(event.on)
    raise RecordError("This pathway holds a clock pause, which the current RTT rules do not allow.")


def _breach_and_running(events: list[rtt.Event]) -> tuple[date | None, bool]:
    """The breach date of the clock now running (None if stopped or nullified) and whether one runs."""
    periods = rtt.clock_periods(events)
    last = periods[-1] if periods else None
    if last is None or last.stop is not None or last.nullified:
        return None, False
    return last.breach_date(), True


def _refuse_pause(on: date) -> None:
    # The rule's own message (one place): under the current rules any pause is refused first.
    try:
        rtt.validate(
            [rtt.ClockStart(on), rtt.Pause(declined=(rtt.AdmissionOffer(on, on),))],
            rules=rtt.RulesSuite.CURRENT,
        )
    except ValueError as exc:
        raise RecordError(str(exc), field="kind") from exc


def waiting_entry_add(
    *, referral: Referral, added_by: Any, kind: str, procedure: str = ""
) -> WaitingListEntry:
    """Put an accepted referral on a waiting list, its clock started on the day it was received.
    Called inside the triage's transaction, which writes the audit row."""
    if kind not in WaitingKind.values:
        raise RecordError("Choose a first outpatient appointment or an admission.", field="waiting_kind")
    start = rtt.ClockStart(referral.received_on)
    breach, _ = _breach_and_running([start])
    now = timezone.now()
    entry = WaitingListEntry.objects.create(
        referral=referral,
        patient_id=referral.patient_id,
        kind=kind,
        specialty=referral.specialty,
        priority=referral.priority,
        procedure=procedure.strip()[:300],
        breach_on=breach,
        added_by=added_by,
        added_at=now,
    )
    ClockEvent.objects.create(
        entry=entry,
        kind=START,
        on=referral.received_on,
        reason=rtt.StartReason.REFERRAL,
        recorded_by=added_by,
        recorded_at=now,
    )
    return entry


def _reason_for(kind: str, reason: str) -> str:
    if kind == START:
        if reason not in {r.value for r in rtt.StartReason} or reason == rtt.StartReason.REFERRAL:
            raise RecordError("Choose why a new clock starts.", field="start_reason")
        return reason
    if kind == STOP:
        if reason not in {r.value for r in rtt.StopReason}:
            raise RecordError("Choose why the clock stops.", field="stop_reason")
        return reason
    if kind == DECISION_TO_ADMIT:
        return ""
    raise RecordError("Choose what happened to the clock.", field="kind")


@transaction.atomic
def clock_event_record(
    *,
    entry: WaitingListEntry,
    recorded_by: Any,
    version: int,
    kind: str,
    on: date,
    reason: str = "",
    note: str = "",
) -> ClockEvent:
    """Record the next event of an entry's clock. Refused, with nothing saved: a pause (not allowed
    since 1 October 2015), a date to come, and any sequence the RTT rules call impossible (a stop with
    no clock running, a second start while one runs...)."""
    if kind == PAUSE:
        _refuse_pause(on)
    reason = _reason_for(kind, reason)
    if on > timezone.localdate():
        raise RecordError("The date cannot be in the future: record events once they happen.", field="on")
    locked = lock_for_edit(entry, version, noun="waiting-list entry")
    stored = list(locked.clock_events.order_by("on", "pk"))
    new = ClockEvent(entry=locked, kind=kind, on=on, reason=reason, note=note.strip()[:300])
    try:
        breach, running = _breach_and_running([*map(rtt_event, stored), rtt_event(new)])
    except ValueError as exc:
        raise RecordError(str(exc), field="on") from exc
    new.recorded_by = recorded_by
    new.recorded_at = timezone.now()
    new.save()
    _follow_clock(locked, breach=breach, running=running, kind=kind, reason=reason)
    audit_record(
        user=recorded_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"clock_event": kind, "reason": reason},
    )
    return new


def _follow_clock(
    entry: WaitingListEntry, *, breach: date | None, running: bool, kind: str, reason: str
) -> None:
    """The entry follows its clock: on the list while one runs, off it (with the stop's reason) once
    it stops; back on when a new clock starts."""
    entry.breach_on = breach
    if running and entry.status == WaitingStatus.REMOVED:
        entry.status, entry.removed_reason = WaitingStatus.WAITING, ""
    elif not running:
        entry.status = WaitingStatus.REMOVED
        entry.removed_reason = STOP_LABELS.get(rtt.StopReason(reason), "") if kind == STOP else ""
    entry.version += 1
    entry.save()
