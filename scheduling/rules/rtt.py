"""The 18-week referral-to-treatment (RTT) clock of NHS England's "Referral to treatment consultant-led
waiting times rules suite" (October 2022). A pathway is its events in date order: clock starts, clock
stops, a decision to admit and, under the rules before October 2015 only, pauses. From them come the
clock periods, the days and completed weeks waited on a date, the breach date (the clock start plus 18
weeks, 126 days, and any paused days), whether the wait has breached, and the week band of the monthly
RTT return. Pure functions of the events given; an impossible sequence raises ValueError.

Counting: a wait is the days from the clock start to the date asked about (or to the clock stop, once
stopped), less paused days; the start day is day 0. Completed weeks are days // 7, as the RTT return
counts them, so day 125 is 17 completed weeks (within 18) and day 126 is the breach.

Pauses. The rules suite of January 2012 let an admitted pathway's clock pause when, after a decision to
admit, the patient declined at least two reasonable offers of admission (a date three weeks or more
after the offer was made), from the earliest reasonable offered date declined to the date the patient
said they were available again; non-admitted pathways could not pause. The NHS Commissioning Board and
CCGs (Responsibilities and Standing Rules) (Amendment) (No. 2) Regulations 2015 removed the patient pause
from 1 October 2015, and the October 2022 suite reflects that: a patient's choice to wait is recorded
locally and does not affect the clock. So under RulesSuite.CURRENT (the default) a pause is refused; the
earlier rule is encoded exactly under RulesSuite.BEFORE_OCTOBER_2015, for pathways of that time and for
a trust that decides otherwise.

Not certain, and decided here: that the available-again date is the first day the clock runs again (so
it is not a paused day); that three weeks' notice means 21 days or more from the day the offer was made
to the offered date; that both declined offers must be reasonable (an unreasonable one is ignored, and
the pause starts at the earliest reasonable one); that a pause still open when the clock stops ends
with the stop; that a clock stopped by a DNA of the first appointment, or replaced when the patient
rebooks after one, is nullified (not reported, as the NHS Data Dictionary's "discharge after patient
did not attend" says), though the provider must have shown the appointment was clearly communicated,
which is for the caller; and the rule numbers, so comments name the rules suite's headings instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

STANDARD_DAYS = 126  # 18 weeks
REASONABLE_NOTICE = timedelta(days=21)  # "three weeks' notice" for an offer of admission
REPORTED_WEEKS = 52  # the last band of the return counts 52 completed weeks and more
WEEK_BANDS = (*(f"{week}-{week + 1}" for week in range(REPORTED_WEEKS)), f"{REPORTED_WEEKS}+")


class RulesSuite(StrEnum):
    CURRENT = "current"  # from 1 October 2015 (rules suite October 2015, October 2022): no pauses
    BEFORE_OCTOBER_2015 = "before-october-2015"  # rules suite January 2012: the admitted pause


class StartReason(StrEnum):
    # Clock starts: a referral to a consultant-led service (by a care professional, or a self-referral
    # where allowed), from the date the provider receives it (or the e-RS booking is converted).
    REFERRAL = "referral"
    # New clock starts: after active monitoring ends with a decision to treat; when the patient is fit
    # and ready for the second of a consultant-led bilateral procedure; on a decision to start a
    # substantively new or different treatment not already in the care plan.
    AFTER_ACTIVE_MONITORING = "after-active-monitoring"
    SECOND_BILATERAL = "second-bilateral"
    NEW_TREATMENT = "new-treatment"
    # Did not attends: a DNA of the first appointment nullifies the clock; a new one starts when the
    # patient rebooks.
    REBOOKED_AFTER_DNA = "rebooked-after-dna"


class StopReason(StrEnum):
    # Clock stops for treatment: the start of first definitive treatment.
    FIRST_DEFINITIVE_TREATMENT = "first-definitive-treatment"
    # Clock stops for non-treatment.
    ACTIVE_MONITORING = "active-monitoring"
    NOT_TO_TREAT = "not-to-treat"  # a clinical decision not to treat, or that no treatment is needed
    PATIENT_DECLINED = "patient-declined"  # the patient declines treatment
    # Did not attends: discharged back to the referrer after a DNA, per local policy. Of the first
    # appointment the clock is nullified; of a later one it stops.
    DNA_FIRST_APPOINTMENT = "dna-first-appointment"
    DNA_DISCHARGED = "dna-discharged"


@dataclass(frozen=True)
class ClockStart:
    on: date
    reason: StartReason = StartReason.REFERRAL


@dataclass(frozen=True)
class ClockStop:
    on: date
    reason: StopReason


@dataclass(frozen=True)
class DecisionToAdmit:
    """The decision to admit for treatment: from it the pathway is an admitted one."""

    on: date


@dataclass(frozen=True)
class AdmissionOffer:
    made_on: date  # when the offer was made to the patient
    admit_on: date  # the date offered for admission

    @property
    def reasonable(self) -> bool:
        return self.admit_on - self.made_on >= REASONABLE_NOTICE


@dataclass(frozen=True)
class Pause:
    """A patient's declined offers of admission and the date they said they are available again (None
    while they have not)."""

    declined: tuple[AdmissionOffer, ...]
    available_from: date | None = None

    @property
    def starts(self) -> date:
        """The earliest reasonable offered date declined: where the pause starts (once validated)."""
        reasonable = [offer.admit_on for offer in self.declined if offer.reasonable]
        return min(reasonable or [offer.admit_on for offer in self.declined])


Event = ClockStart | ClockStop | DecisionToAdmit | Pause


@dataclass(frozen=True)
class ClockPeriod:
    """One clock from its start to its stop (None while running). A nullified one is not reported."""

    start: date
    start_reason: StartReason
    stop: date | None = None
    stop_reason: StopReason | None = None
    nullified: bool = False
    decision_to_admit: date | None = None
    pauses: tuple[Pause, ...] = ()

    def _end(self, on: date) -> date:
        return on if self.stop is None else min(on, self.stop)

    def _pause_span(self, pause: Pause) -> tuple[date, date | None]:
        # A pause never runs past the clock stop: an open one ends with it.
        starts, ends = pause.starts, pause.available_from
        if self.stop is not None:
            ends = max(starts, self.stop if ends is None else min(ends, self.stop))
        return starts, ends

    def paused_days(self, on: date) -> int:
        """Days paused from the start to `on` (or to the stop)."""
        end, total = self._end(on), 0
        for pause in self.pauses:
            starts, ends = self._pause_span(pause)
            total += max(0, ((end if ends is None else min(ends, end)) - starts).days)
        return total

    def days_waited(self, on: date) -> int:
        if on < self.start:
            raise ValueError(f"The clock started on {self.start:%d-%b-%Y}, after {on:%d-%b-%Y}.")
        return (self._end(on) - self.start).days - self.paused_days(on)

    def breach_date(self) -> date | None:
        """The first day the wait is 18 weeks (126 days), moved on by the paused days before it; None
        while a pause is open (the patient has not said when they are available again)."""
        breach = self.start + timedelta(days=STANDARD_DAYS)
        for pause in sorted(self.pauses, key=lambda pause: pause.starts):  # each one before it moves it on
            starts, ends = self._pause_span(pause)
            if ends is None:
                return None
            if starts < breach:
                breach += ends - starts
        return breach


def _key(event: Event) -> date:
    if isinstance(event, Pause):
        # A pause is judged when its first offer was made: the pathway must be admitted by then.
        return min(offer.made_on for offer in event.declined)  # never empty: checked before sorting
    return event.on


def _check_pause(pause: Pause, period: ClockPeriod, rules: RulesSuite) -> None:
    if RulesSuite(rules) is RulesSuite.CURRENT:  # a plain string from settings works too
        raise ValueError(
            "RTT clocks do not pause: the patient pause was removed from the rules on 1 October 2015. "
            "Record the patient's choice to wait locally; the clock keeps running."
        )
    first_offer = min(offer.made_on for offer in pause.declined)
    if period.decision_to_admit is None or period.decision_to_admit > first_offer:
        # Pauses: only the admitted part of a pathway may pause, so only after a decision to admit.
        raise ValueError(
            f"A clock can pause only on an admitted pathway: there was no decision to admit by "
            f"{first_offer:%d-%b-%Y}, when the first offer of admission was made."
        )
    for offer in pause.declined:
        if offer.admit_on < offer.made_on:
            raise ValueError(
                f"An offer made on {offer.made_on:%d-%b-%Y} cannot be for {offer.admit_on:%d-%b-%Y}, "
                "before it was made."
            )
    reasonable = sum(offer.reasonable for offer in pause.declined)
    if reasonable < 2:
        # Pauses: the patient declines at least two reasonable offers (three weeks' notice or more).
        raise ValueError(
            f"A clock pauses only when the patient declines at least two reasonable offers of admission "
            f"(at least three weeks' notice); {reasonable} of the declined offers gave that notice."
        )
    if pause.available_from is not None and pause.available_from <= pause.starts:
        raise ValueError(
            f"The patient is available again from {pause.available_from:%d-%b-%Y}, not after the pause "
            f"starts on {pause.starts:%d-%b-%Y} (the earliest reasonable offered date declined)."
        )
    for earlier in period.pauses:
        ends = earlier.available_from
        if (ends is None or pause.starts < ends) and (
            pause.available_from is None or earlier.starts < pause.available_from
        ):
            raise ValueError(
                f"The pause from {pause.starts:%d-%b-%Y} overlaps the pause from {earlier.starts:%d-%b-%Y}"
                + (f" to {ends:%d-%b-%Y}." if ends is not None else ", which has not ended.")
            )


def clock_periods(events: Sequence[Event], *, rules: RulesSuite = RulesSuite.CURRENT) -> list[ClockPeriod]:
    """The pathway's clock periods, oldest first, from its events (sorted by date; events on one date
    keep the order given). Raises ValueError for an impossible sequence: a stop, a decision to admit or
    a pause with no clock running; a start while one runs (other than a rebooking after a DNA of the
    first appointment, which nullifies it); a pause the rules do not allow; overlapping pauses."""
    if any(isinstance(event, Pause) and not event.declined for event in events):
        raise ValueError("A pause needs the offers of admission the patient declined.")
    periods: list[ClockPeriod] = []
    running: ClockPeriod | None = None
    for event in sorted(events, key=_key):
        if isinstance(event, ClockStart):
            reason = StartReason(event.reason)
            if reason is StartReason.REBOOKED_AFTER_DNA:
                if running is None:
                    raise ValueError(
                        f"The clock restarted on {event.on:%d-%b-%Y} after a DNA, but no clock was running "
                        "to nullify: start a new one for the new referral."
                    )
                if running.decision_to_admit is not None:
                    raise ValueError(
                        "A clock is nullified only for a DNA of the first appointment, before any decision "
                        f"to admit (there was one on {running.decision_to_admit:%d-%b-%Y})."
                    )
                periods[-1] = ClockPeriod(running.start, running.start_reason, nullified=True)
            elif running is not None:
                raise ValueError(
                    f"A clock started on {event.on:%d-%b-%Y} while the clock from "
                    f"{running.start:%d-%b-%Y} was still running: stop it first."
                )
            elif reason is StartReason.AFTER_ACTIVE_MONITORING and (
                not periods or periods[-1].stop_reason is not StopReason.ACTIVE_MONITORING
            ):
                raise ValueError(
                    f"The clock started on {event.on:%d-%b-%Y} at the end of active monitoring, but no "
                    "clock had stopped for active monitoring."
                )
            running = ClockPeriod(event.on, reason)
            periods.append(running)
        elif running is None:
            what = {ClockStop: "A clock stop", DecisionToAdmit: "A decision to admit", Pause: "A pause"}
            when = f" on {event.on:%d-%b-%Y}" if not isinstance(event, Pause) else ""
            raise ValueError(f"{what[type(event)]}{when} comes when no clock is running.")
        elif isinstance(event, ClockStop):
            stop_reason = StopReason(event.reason)
            if stop_reason is StopReason.DNA_FIRST_APPOINTMENT and running.decision_to_admit is not None:
                raise ValueError(
                    f"The clock stop on {event.on:%d-%b-%Y} is for a DNA of the first appointment, but "
                    f"there was already a decision to admit on {running.decision_to_admit:%d-%b-%Y}."
                )
            periods[-1] = replace(
                running,
                stop=event.on,
                stop_reason=stop_reason,
                nullified=stop_reason is StopReason.DNA_FIRST_APPOINTMENT,
            )
            running = None
        elif isinstance(event, DecisionToAdmit):
            if running.decision_to_admit is None:  # a later one changes nothing: admitted since the first
                running = periods[-1] = replace(running, decision_to_admit=event.on)
        else:
            _check_pause(event, running, rules)
            running = periods[-1] = replace(running, pauses=(*running.pauses, event))
    return periods


def validate(events: Sequence[Event], *, rules: RulesSuite = RulesSuite.CURRENT) -> None:
    """Raise ValueError with a clear message if the events are not a possible pathway."""
    clock_periods(events, rules=rules)


def clock_on(
    events: Sequence[Event], on: date, *, rules: RulesSuite = RulesSuite.CURRENT
) -> ClockPeriod | None:
    """The clock in effect on `on`: the latest one started by then, running or stopped; None if there is
    none, or it was nullified."""
    started = [period for period in clock_periods(events, rules=rules) if period.start <= on]
    if not started or started[-1].nullified:
        return None
    return started[-1]


@dataclass(frozen=True)
class Wait:
    days: int  # days waited, less paused days
    breach_date: date | None  # None while paused with no end
    stopped: bool  # the clock had stopped by the date: the days are the whole wait
    paused: bool  # a pause is running on the date

    @property
    def weeks(self) -> int:
        return self.days // 7  # completed weeks

    @property
    def extra_days(self) -> int:
        return self.days % 7

    @property
    def breached(self) -> bool:
        return self.days >= STANDARD_DAYS

    @property
    def band(self) -> str:
        return week_band(self.days)


def wait_on(events: Sequence[Event], on: date, *, rules: RulesSuite = RulesSuite.CURRENT) -> Wait:
    """The wait on `on` of the clock in effect then (ValueError if there is none)."""
    period = clock_on(events, on, rules=rules)
    if period is None:
        raise ValueError(f"No RTT clock was running on {on:%d-%b-%Y}.")
    stopped = period.stop is not None and period.stop <= on
    paused = not stopped and period.paused_days(on + timedelta(days=1)) > period.paused_days(on)
    return Wait(period.days_waited(on), period.breach_date(), stopped, paused)


def days_waited(events: Sequence[Event], on: date, *, rules: RulesSuite = RulesSuite.CURRENT) -> int:
    return wait_on(events, on, rules=rules).days


def weeks_waited(
    events: Sequence[Event], on: date, *, rules: RulesSuite = RulesSuite.CURRENT
) -> tuple[int, int]:
    """Completed weeks and the days over them: (17, 6) is 17 weeks and 6 days."""
    wait = wait_on(events, on, rules=rules)
    return wait.weeks, wait.extra_days


def breach_date(events: Sequence[Event], on: date, *, rules: RulesSuite = RulesSuite.CURRENT) -> date | None:
    return wait_on(events, on, rules=rules).breach_date


def is_breached(events: Sequence[Event], on: date, *, rules: RulesSuite = RulesSuite.CURRENT) -> bool:
    """Whether the wait is 18 weeks or more on `on` (for a stopped clock: whether it stopped after 18)."""
    return wait_on(events, on, rules=rules).breached


def week_band(days: int) -> str:
    """The band of the RTT return for a wait of `days`: completed weeks, "0-1" for 0 to 6 days, "1-2"
    for 7 to 13, up to "52+" (one of WEEK_BANDS)."""
    if days < 0:
        raise ValueError(f"A wait cannot be negative ({days} days).")
    return WEEK_BANDS[min(days // 7, REPORTED_WEEKS)]
