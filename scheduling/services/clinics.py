"""Setting clinics up and running their sessions: a clinic with its staff group (whose members get a
care relationship with the patients booked into it), session templates checked by the recurrence
rules (scheduling/rules/sessions.py), sessions and their slots generated ahead (idempotent: the
unique constraint session_once_per_template makes each session once), a session cancelled or reduced
(its slots blocked, its booked patients' appointments cancelled by the hospital for rebooking), and
a theatre session's ordered list of cases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError
from records.models import Patient, Site
from records.services.entries import lock_for_edit
from records.services.patients import patient_require_writable
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Clinic,
    ClinicSession,
    SessionKind,
    SessionStatus,
    SessionTemplate,
    Slot,
    SlotStatus,
    SlotType,
    TheatreCase,
)
from scheduling.rules import sessions as rules
from scheduling.services import appointments

GENERATE_WEEKS = 6  # how far ahead the beat task keeps sessions made


def clinic_group_create(*, code: str) -> Group:
    """The clinic's staff group, like a ward's or a team's: its members see the clinic's patients."""
    return Group.objects.create(name=f"clinic:{code}")


@transaction.atomic
def clinic_create(
    *,
    code: str,
    name: str,
    specialty: str,
    consultant: Any,
    site: Site,
    location: str = "",
    kind: str = SessionKind.CLINIC,
    staff: Iterable[Any] = (),
) -> Clinic:
    group = clinic_group_create(code=code)
    group.user_set.add(consultant, *staff)
    return Clinic.objects.create(
        code=code,
        name=name,
        specialty=specialty,
        consultant=consultant,
        site=site,
        location=location,
        kind=kind,
        staff_group=group,
    )


@transaction.atomic
def clinic_add_staff(*, clinic: Clinic, users: Iterable[Any]) -> None:
    clinic.staff_group.user_set.add(*users)


def rule_template(template: SessionTemplate) -> rules.SessionTemplate:
    """The pure rule's view of a stored template; ValueError (with a message for the user) when the
    template is not valid."""
    slots: rules.SlotPattern | rules.UniformSlots
    if template.slot_layout:
        layout = template.slot_layout
        if not isinstance(layout, list) or not all(
            isinstance(pair, list | tuple) and len(pair) == 2 for pair in layout
        ):
            raise ValueError(
                'The slot layout is a list of [minutes, type] pairs: [[15, "new"], [10, "follow-up"]].'
            )
        slots = tuple((minutes, kind) for minutes, kind in layout)
        kinds = {kind for _, kind in slots}
    else:
        slots = rules.UniformSlots(template.slot_minutes, template.slot_type)
        kinds = {template.slot_type}
    unknown = sorted(str(k) for k in kinds if k not in SlotType.values)
    if unknown:
        raise ValueError(f"Unknown slot type {', '.join(unknown)}: use one of {', '.join(SlotType.values)}.")
    return rules.SessionTemplate(
        weekday=template.weekday,
        starts=template.starts,
        ends=template.ends,
        valid_from=template.valid_from,
        valid_until=template.valid_until,
        recurrence=rules.Recurrence(template.recurrence),
        anchor=template.anchor,
        nth=template.nth,
        slots=slots,
    )


def template_problem(template: SessionTemplate) -> str:
    """Why the template cannot be used ("" when it can): for the admin form and the service."""
    try:
        rule = rule_template(template)
    except (ValueError, TypeError) as exc:
        return str(exc)
    day = date(template.valid_from.year, 6, 15)  # away from the clock changes: the wall-clock length
    if not rules.session_slots(rule, rules.Session(day, *rules.session_times(rule, day))):
        return "No slot fits in the session: make the slots shorter or the session longer."
    return ""


@transaction.atomic
def session_template_create(**fields: Any) -> SessionTemplate:
    template = SessionTemplate(**fields)
    problem = template_problem(template)
    if problem:
        raise RecordError(problem)
    template.save()
    return template


def _skipped(first: date, last: date) -> frozenset[date]:
    """Bank holidays in the years the rules know; other years are not guessed."""
    years = {y for y in range(first.year, last.year + 1) if y in rules.BANK_HOLIDAY_YEARS}
    return rules.bank_holidays(*years) if years else frozenset()


@dataclass(frozen=True)
class Generated:
    sessions: int
    slots: int


def sessions_generate(*, today: date | None = None, weeks: int = GENERATE_WEEKS) -> Generated:
    """Make the sessions (and their slots) of every active template from today to `weeks` ahead.
    Idempotent and safe to run twice at once: a session already made is left as it is."""
    first = today or timezone.localdate()
    last = first + timedelta(weeks=weeks)
    skip = _skipped(first, last)
    made_sessions = made_slots = 0
    templates = SessionTemplate.objects.filter(active=True, clinic__active=True).select_related("clinic")
    for template in templates:
        try:
            rule = rule_template(template)
        except (ValueError, TypeError):
            continue  # refused in admin; an old bad row must not stop the other clinics
        existing = set(
            ClinicSession.objects.filter(
                template=template, starts_at__date__gte=first - timedelta(days=1)
            ).values_list("starts_at", flat=True)
        )
        for planned in rules.sessions(rule, first, last, skip=skip):
            if planned.starts_at in existing:
                continue
            slots = _session_create(template, rule, planned)
            if slots is not None:
                made_sessions += 1
                made_slots += slots
    return Generated(made_sessions, made_slots)


def _session_create(
    template: SessionTemplate, rule: rules.SessionTemplate, planned: rules.Session
) -> int | None:
    """One session with its slots, or None when another run made it first."""
    try:
        with transaction.atomic():
            session = ClinicSession.objects.create(
                clinic=template.clinic,
                template=template,
                starts_at=planned.starts_at,
                ends_at=planned.ends_at,
            )
            made = Slot.objects.bulk_create(
                [
                    Slot(session=session, starts_at=s.starts_at, ends_at=s.ends_at, slot_type=s.kind)
                    for s in rules.session_slots(rule, planned)
                ]
            )
    except IntegrityError:
        return None  # session_once_per_template: made by a run at the same time
    return len(made)


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise RecordError("Give the reason, for the patients' letters and the record.", field="reason")
    return reason[:300]


@transaction.atomic
def session_cancel(*, by: Any, session: ClinicSession, reason: str, version: int | None) -> list[Appointment]:
    """Cancel the whole session: every slot blocked; the booked patients' appointments cancelled by
    the hospital with the reason, to be rebooked (the "To rebook" list). Returns those appointments."""
    reason = _clean_reason(reason)
    locked = lock_for_edit(session, version, noun="session", refuse=_refuse_closed)
    slots = list(Slot.objects.select_for_update().filter(session=locked))
    return _close(by=by, session=locked, slots=slots, reason=reason, status=SessionStatus.CANCELLED)


@transaction.atomic
def session_reduce(
    *, by: Any, session: ClinicSession, slot_ids: Sequence[int], reason: str, version: int | None
) -> list[Appointment]:
    """Block some of the session's slots (a late start, an early finish, fewer staff); booked patients
    in them are cancelled by the hospital for rebooking, the rest of the session goes ahead."""
    reason = _clean_reason(reason)
    locked = lock_for_edit(session, version, noun="session", refuse=_refuse_closed)
    slots = list(
        Slot.objects.select_for_update()
        .filter(session=locked, pk__in=list(slot_ids))
        .exclude(status=SlotStatus.BLOCKED)
    )
    if not slots:
        raise RecordError("Tick the slots that will not run.", field="slots")
    still_open = Slot.objects.filter(session=locked).exclude(status=SlotStatus.BLOCKED).count()
    status = SessionStatus.CANCELLED if still_open == len(slots) else SessionStatus.REDUCED
    return _close(by=by, session=locked, slots=slots, reason=reason, status=status)


def _refuse_closed(session: ClinicSession) -> str:
    if session.status == SessionStatus.CANCELLED:
        return "This session is already cancelled."
    if session.ends_at <= timezone.now():
        return "This session is over: it can no longer be cancelled or reduced."
    return ""


def _close(
    *, by: Any, session: ClinicSession, slots: list[Slot], reason: str, status: str
) -> list[Appointment]:
    booked = list(
        Appointment.objects.select_for_update()
        .filter(slot__in=slots, status=AppointmentStatus.BOOKED)
        .select_related("slot__session__clinic", "patient")
    )
    for appointment in booked:
        appointments.cancel_locked(
            by=by,
            appointment=appointment,
            cancelled_by=CancelledBy.HOSPITAL,
            reason=f"Session {status}: {reason}",
            slot_status=SlotStatus.BLOCKED,
        )
    Slot.objects.filter(pk__in=[s.pk for s in slots]).update(status=SlotStatus.BLOCKED)
    session.status = status
    session.change_reason = reason
    session.changed_by = by
    session.version += 1
    session._change_reason = f"{status.capitalize()}: {reason}"  # type: ignore[attr-defined]
    session.save()
    return booked


# --- Theatre lists ---


def _theatre_session(session: ClinicSession) -> None:
    if session.clinic.kind != SessionKind.THEATRE:
        raise RecordError("Cases are listed on theatre sessions only.")
    if session.status == SessionStatus.CANCELLED:
        raise RecordError("This theatre session is cancelled.")


@transaction.atomic
def theatre_case_add(
    *, by: Any, session: ClinicSession, patient: Patient, procedure: str, expected_minutes: int = 60
) -> TheatreCase:
    procedure = " ".join((procedure or "").split())
    if not procedure:
        raise RecordError("Enter the procedure.", field="procedure")
    if not 5 <= expected_minutes <= 720:
        raise RecordError("Expected length is 5 to 720 minutes.", field="expected_minutes")
    locked = ClinicSession.objects.select_for_update().select_related("clinic").get(pk=session.pk)
    _theatre_session(locked)
    patient_require_writable(patient)
    last = TheatreCase.objects.filter(session=locked).order_by("-position").values_list("position", flat=True)
    case = TheatreCase.objects.create(
        session=locked,
        patient=patient,
        procedure=procedure[:300],
        position=(last.first() or 0) + 1,
        expected_minutes=expected_minutes,
        added_by=by,
    )
    audit_record(user=by, action=Action.CREATE, patient_id=patient.pk, obj=case)
    return case


@transaction.atomic
def theatre_cases_reorder(*, by: Any, session: ClinicSession, case_ids: Sequence[int]) -> list[TheatreCase]:
    """Put the session's cases in the order given (every case, each once)."""
    locked = ClinicSession.objects.select_for_update().select_related("clinic").get(pk=session.pk)
    _theatre_session(locked)
    cases = {c.pk: c for c in TheatreCase.objects.select_for_update().filter(session=locked)}
    if sorted(case_ids) != sorted(cases):
        raise RecordError("The list changed since you opened it: reload the page and order it again.")
    ordered = [cases[pk] for pk in case_ids]
    for position, case in enumerate(ordered, start=1):
        if case.position != position:
            case.position = position
            case.save(update_fields=["position"])
    return ordered


@transaction.atomic
def theatre_case_move(*, by: Any, case: TheatreCase, up: bool) -> list[TheatreCase]:
    ids = list(
        TheatreCase.objects.filter(session_id=case.session_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    at = ids.index(case.pk)
    to = at - 1 if up else at + 1
    if 0 <= to < len(ids):
        ids[at], ids[to] = ids[to], ids[at]
    session = ClinicSession.objects.get(pk=case.session_id)
    return theatre_cases_reorder(by=by, session=session, case_ids=ids)


@transaction.atomic
def theatre_case_cancel(*, by: Any, case: TheatreCase, reason: str) -> TheatreCase:
    reason = _clean_reason(reason)
    locked = TheatreCase.objects.select_for_update().get(pk=case.pk)
    if locked.cancelled:
        raise RecordError("This case is already cancelled.")
    locked.cancelled = True
    locked.cancel_reason = reason
    locked._change_reason = f"Cancelled: {reason}"  # type: ignore[attr-defined]
    locked.save(update_fields=["cancelled", "cancel_reason"])
    audit_record(
        user=by, action=Action.UPDATE, patient_id=locked.patient_id, obj=locked, detail={"cancelled": True}
    )
    return locked
