"""The 18-week RTT clock (scheduling/rules/rtt.py): days and completed weeks waited, the breach on day
126 and not 125, the week bands of the RTT return, clock stops and new clock starts, nullification after
a DNA of the first appointment, and pauses: refused under the current rules, and under the rules before
October 2015 allowed only on an admitted pathway after two declined reasonable offers (three weeks'
notice), from the earliest reasonable offered date to the date the patient is available again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scheduling.rules.rtt import (
    STANDARD_DAYS,
    WEEK_BANDS,
    AdmissionOffer,
    ClockStart,
    ClockStop,
    DecisionToAdmit,
    Pause,
    RulesSuite,
    StartReason,
    StopReason,
    breach_date,
    clock_on,
    clock_periods,
    days_waited,
    is_breached,
    validate,
    wait_on,
    week_band,
    weeks_waited,
)

START = date(2026, 1, 5)
REFERRAL = ClockStart(START)
OLD = RulesSuite.BEFORE_OCTOBER_2015


def day(n: int) -> date:
    return START + timedelta(days=n)


def offer(made: int, admit: int) -> AdmissionOffer:
    return AdmissionOffer(made_on=day(made), admit_on=day(admit))


def admitted_pause(available: int | None, *, first: int = 60, notice: int = 21) -> list:
    """Referral, a decision to admit on day 50, two offers with `notice` days each, declined."""
    pause = Pause(
        (offer(first, first + notice), offer(first + 7, first + 7 + notice)),
        None if available is None else day(available),
    )
    return [REFERRAL, DecisionToAdmit(day(50)), pause]


# Waits and the breach


@pytest.mark.parametrize(
    ("n", "weeks", "breached"),
    [
        (0, (0, 0), False),
        (6, (0, 6), False),
        (7, (1, 0), False),
        (125, (17, 6), False),
        (126, (18, 0), True),
        (127, (18, 1), True),
    ],
)
def test_the_wait_breaches_on_day_126_not_125(n, weeks, breached):
    assert days_waited([REFERRAL], day(n)) == n
    assert weeks_waited([REFERRAL], day(n)) == weeks
    assert is_breached([REFERRAL], day(n)) is breached
    assert breach_date([REFERRAL], day(n)) == day(126) == START + timedelta(weeks=18)


def test_the_start_day_is_day_0_and_a_date_before_it_has_no_clock():
    assert days_waited([REFERRAL], START) == 0
    assert clock_on([REFERRAL], day(-1)) is None
    with pytest.raises(ValueError, match="No RTT clock"):
        wait_on([REFERRAL], day(-1))


@pytest.mark.parametrize(
    ("days", "band"),
    [
        (0, "0-1"),
        (6, "0-1"),
        (7, "1-2"),
        (13, "1-2"),
        (125, "17-18"),
        (126, "18-19"),
        (363, "51-52"),
        (364, "52+"),
        (2000, "52+"),
    ],
)
def test_the_week_band_counts_completed_weeks_up_to_52_and_over(days, band):
    assert week_band(days) == band


def test_the_week_bands_are_53_in_order():
    assert (
        len(WEEK_BANDS) == 53
        and WEEK_BANDS[0] == "0-1"
        and WEEK_BANDS[17] == "17-18"
        and WEEK_BANDS[-1] == "52+"
    )


def test_a_negative_wait_has_no_band():
    with pytest.raises(ValueError, match="negative"):
        week_band(-1)


@pytest.mark.parametrize(("stop", "breached"), [(125, False), (126, True)])
def test_a_stopped_clock_keeps_the_wait_it_stopped_at(stop, breached):
    events = [REFERRAL, ClockStop(day(stop), StopReason.FIRST_DEFINITIVE_TREATMENT)]
    wait = wait_on(events, day(300))
    assert wait.days == stop and wait.stopped and wait.breached is breached
    assert wait.band == ("17-18" if stop == 125 else "18-19")
    running = wait_on(events, day(stop - 1))
    assert running.days == stop - 1 and not running.stopped


@pytest.mark.parametrize(
    "reason",
    [
        StopReason.FIRST_DEFINITIVE_TREATMENT,
        StopReason.NOT_TO_TREAT,
        StopReason.ACTIVE_MONITORING,
        StopReason.PATIENT_DECLINED,
        StopReason.DNA_DISCHARGED,
    ],
)
def test_each_clock_stop_stops_the_clock_and_is_reported(reason):
    period = clock_on([REFERRAL, ClockStop(day(40), reason)], day(90))
    assert period is not None and period.stop == day(40) and not period.nullified
    assert days_waited([REFERRAL, ClockStop(day(40), reason)], day(90)) == 40


def test_a_stop_on_the_day_of_the_start_is_a_wait_of_0_days():
    assert days_waited([REFERRAL, ClockStop(START, StopReason.NOT_TO_TREAT)], day(5)) == 0


# New clock starts


def test_a_new_clock_starts_when_active_monitoring_ends_with_a_decision_to_treat():
    events = [
        REFERRAL,
        ClockStop(day(30), StopReason.ACTIVE_MONITORING),
        ClockStart(day(200), StartReason.AFTER_ACTIVE_MONITORING),
    ]
    assert days_waited(events, day(100)) == 30  # the first clock, stopped
    assert days_waited(events, day(210)) == 10
    assert breach_date(events, day(210)) == day(200 + STANDARD_DAYS)
    assert [period.start for period in clock_periods(events)] == [START, day(200)]


@pytest.mark.parametrize(
    "reason", [StartReason.NEW_TREATMENT, StartReason.SECOND_BILATERAL, StartReason.REFERRAL]
)
def test_a_new_clock_after_treatment(reason):
    events = [
        REFERRAL,
        ClockStop(day(90), StopReason.FIRST_DEFINITIVE_TREATMENT),
        ClockStart(day(120), reason),
    ]
    assert days_waited(events, day(130)) == 10


def test_a_dna_of_the_first_appointment_then_a_rebooking_nullifies_the_first_clock():
    events = [REFERRAL, ClockStart(day(20), StartReason.REBOOKED_AFTER_DNA)]
    first, second = clock_periods(events)
    assert first.nullified and first.stop is None and not second.nullified
    assert days_waited(events, day(30)) == 10
    assert breach_date(events, day(30)) == day(20 + STANDARD_DAYS)
    assert clock_on(events, day(10)) is None  # the nullified clock is not reported


def test_a_dna_of_the_first_appointment_with_discharge_nullifies_the_clock():
    events = [REFERRAL, ClockStop(day(20), StopReason.DNA_FIRST_APPOINTMENT)]
    assert clock_periods(events)[0].nullified
    assert clock_on(events, day(30)) is None
    with pytest.raises(ValueError, match="No RTT clock"):
        days_waited(events, day(30))


def test_events_are_taken_in_date_order_whatever_order_they_come_in():
    events = [ClockStop(day(40), StopReason.NOT_TO_TREAT), REFERRAL]
    assert days_waited(events, day(50)) == 40


# Impossible sequences


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([ClockStop(day(10), StopReason.NOT_TO_TREAT)], "no clock is running"),
        ([REFERRAL, ClockStop(day(-1), StopReason.NOT_TO_TREAT)], "no clock is running"),  # stop before start
        (
            [
                REFERRAL,
                ClockStop(day(9), StopReason.NOT_TO_TREAT),
                ClockStop(day(10), StopReason.NOT_TO_TREAT),
            ],
            "no clock is running",
        ),
        ([DecisionToAdmit(day(3))], "no clock is running"),
        ([REFERRAL, ClockStart(day(10))], "still running"),
        ([REFERRAL, ClockStart(day(10), StartReason.NEW_TREATMENT)], "still running"),
        ([ClockStart(START, StartReason.REBOOKED_AFTER_DNA)], "no clock was running to nullify"),
        (
            [REFERRAL, DecisionToAdmit(day(5)), ClockStart(day(10), StartReason.REBOOKED_AFTER_DNA)],
            "first appointment",
        ),
        (
            [
                REFERRAL,
                ClockStop(day(5), StopReason.NOT_TO_TREAT),
                ClockStart(day(10), StartReason.AFTER_ACTIVE_MONITORING),
            ],
            "active monitoring",
        ),
        ([ClockStart(START, StartReason.AFTER_ACTIVE_MONITORING)], "active monitoring"),
        (
            [REFERRAL, DecisionToAdmit(day(5)), ClockStop(day(10), StopReason.DNA_FIRST_APPOINTMENT)],
            "already a decision to admit",
        ),
    ],
)
def test_an_impossible_sequence_is_refused(events, message):
    with pytest.raises(ValueError, match=message):
        validate(events)


# Pauses: refused under the current rules


def test_under_the_current_rules_no_clock_pauses_not_even_an_admitted_one():
    with pytest.raises(ValueError, match="1 October 2015"):
        validate(admitted_pause(100))
    with pytest.raises(ValueError, match="1 October 2015"):
        days_waited(admitted_pause(100), day(130))
    with pytest.raises(ValueError, match="1 October 2015"):
        validate(admitted_pause(100), rules="current")  # as read from a setting
    assert days_waited(admitted_pause(100), day(130), rules="before-october-2015") == 130 - 19


# Pauses under the rules before October 2015


def test_two_declined_reasonable_offers_pause_from_the_earliest_offered_date_to_availability():
    events = admitted_pause(100)  # offers for days 81 and 88, available again on day 100: 19 days
    assert days_waited(events, day(81), rules=OLD) == 81
    assert days_waited(events, day(90), rules=OLD) == 81  # paused: the clock stands still
    assert wait_on(events, day(90), rules=OLD).paused
    assert days_waited(events, day(100), rules=OLD) == 81  # the clock runs again from this day
    assert days_waited(events, day(101), rules=OLD) == 82
    assert not wait_on(events, day(100), rules=OLD).paused
    assert breach_date(events, day(90), rules=OLD) == day(126 + 19)


@pytest.mark.parametrize(("n", "breached"), [(144, False), (145, True), (146, True)])
def test_the_breach_moves_on_by_the_paused_days(n, breached):
    assert is_breached(admitted_pause(100), day(n), rules=OLD) is breached
    assert days_waited(admitted_pause(100), day(n), rules=OLD) == n - 19


@pytest.mark.parametrize(("notice", "allowed"), [(21, True), (22, True), (20, False), (0, False)])
def test_an_offer_is_reasonable_from_three_weeks_notice(notice, allowed):
    events = admitted_pause(120, notice=notice)
    if allowed:
        assert days_waited(events, day(130), rules=OLD) == 130 - (120 - (60 + notice))
    else:
        with pytest.raises(ValueError, match="two reasonable offers"):
            validate(events, rules=OLD)


def test_one_reasonable_offer_declined_is_not_enough():
    pause = Pause((offer(60, 81), offer(70, 80)), day(100))  # the second has 10 days' notice
    with pytest.raises(ValueError, match="1 of the declined offers"):
        validate([REFERRAL, DecisionToAdmit(day(50)), pause], rules=OLD)
    with pytest.raises(ValueError, match="needs the offers"):
        validate([REFERRAL, DecisionToAdmit(day(50)), Pause((), day(100))], rules=OLD)
    with pytest.raises(ValueError, match="two reasonable"):
        validate([REFERRAL, DecisionToAdmit(day(50)), Pause((offer(60, 81),), day(100))], rules=OLD)


def test_an_unreasonable_offer_declined_does_not_start_the_pause():
    # Offers for day 62 (2 days' notice), 85 and 95: the pause starts at the earliest reasonable, day 85.
    pause = Pause((offer(60, 62), offer(61, 85), offer(70, 95)), day(100))
    assert pause.starts == day(85)
    events = [REFERRAL, DecisionToAdmit(day(50)), pause]
    assert days_waited(events, day(110), rules=OLD) == 110 - 15


def test_a_pause_on_a_non_admitted_pathway_is_refused():
    pause = Pause((offer(60, 81), offer(67, 88)), day(100))
    with pytest.raises(ValueError, match="only on an admitted pathway"):
        validate([REFERRAL, pause], rules=OLD)
    # The offers came before the decision to admit: still a non-admitted pathway then.
    with pytest.raises(ValueError, match="only on an admitted pathway"):
        validate([REFERRAL, DecisionToAdmit(day(61)), pause], rules=OLD)


def test_offers_made_on_the_day_of_the_decision_to_admit_count():
    events = [REFERRAL, DecisionToAdmit(day(60)), Pause((offer(60, 81), offer(60, 88)), day(100))]
    assert days_waited(events, day(100), rules=OLD) == 81


def test_the_decision_to_admit_belongs_to_its_own_clock():
    events = [
        REFERRAL,
        DecisionToAdmit(day(10)),
        ClockStop(day(20), StopReason.FIRST_DEFINITIVE_TREATMENT),
        ClockStart(day(30), StartReason.NEW_TREATMENT),
        Pause((offer(40, 61), offer(41, 62)), day(70)),
    ]
    with pytest.raises(ValueError, match="only on an admitted pathway"):
        validate(events, rules=OLD)


def test_a_pause_with_no_clock_running_is_refused():
    events = [
        REFERRAL,
        ClockStop(day(30), StopReason.NOT_TO_TREAT),
        Pause((offer(40, 61), offer(41, 62)), day(70)),
    ]
    with pytest.raises(ValueError, match="A pause comes when no clock is running"):
        validate(events, rules=OLD)


@pytest.mark.parametrize("available", [81, 80])
def test_availability_must_come_after_the_pause_starts(available):
    with pytest.raises(ValueError, match="available again"):
        validate(admitted_pause(available), rules=OLD)


def test_an_offer_for_a_date_before_it_was_made_is_refused():
    with pytest.raises(ValueError, match="before it was made"):
        validate(
            [REFERRAL, DecisionToAdmit(day(50)), Pause((offer(60, 59), offer(60, 81), offer(61, 82)))],
            rules=OLD,
        )


def test_an_open_pause_stands_the_clock_still_and_has_no_breach_date_yet():
    events = admitted_pause(None)
    wait = wait_on(events, day(200), rules=OLD)
    assert wait.days == 81 and wait.paused and wait.breach_date is None and not wait.breached


def test_an_open_pause_ends_with_the_clock_stop():
    events = [*admitted_pause(None), ClockStop(day(120), StopReason.PATIENT_DECLINED)]
    wait = wait_on(events, day(200), rules=OLD)
    assert wait.days == 81 and wait.stopped and not wait.paused
    assert wait.breach_date == day(126 + 120 - 81)


def test_a_pause_after_the_breach_does_not_move_it():
    events = [REFERRAL, DecisionToAdmit(day(100)), Pause((offer(110, 131), offer(111, 140)), day(150))]
    assert breach_date(events, day(160), rules=OLD) == day(126)
    assert is_breached(events, day(126), rules=OLD)
    assert days_waited(events, day(160), rules=OLD) == 160 - 19


def test_a_pause_starting_on_the_breach_day_does_not_move_it():
    events = [REFERRAL, DecisionToAdmit(day(100)), Pause((offer(105, 126), offer(106, 130)), day(140))]
    assert breach_date(events, day(150), rules=OLD) == day(126)
    events = [REFERRAL, DecisionToAdmit(day(100)), Pause((offer(104, 125), offer(106, 130)), day(140))]
    assert breach_date(events, day(150), rules=OLD) == day(126 + 15)


def test_two_pauses_one_after_the_other_both_count():
    first = Pause((offer(60, 81), offer(61, 82)), day(90))  # 9 days
    second = Pause((offer(91, 112), offer(92, 113)), day(120))  # 8 days
    events = [REFERRAL, DecisionToAdmit(day(50)), first, second]
    assert days_waited(events, day(130), rules=OLD) == 130 - 17
    assert breach_date(events, day(130), rules=OLD) == day(126 + 17)


def test_a_pause_may_start_on_the_day_the_last_one_ended():
    first = Pause((offer(60, 81), offer(61, 82)), day(90))
    second = Pause((offer(69, 90), offer(70, 95)), day(100))
    events = [REFERRAL, DecisionToAdmit(day(50)), first, second]
    assert days_waited(events, day(110), rules=OLD) == 110 - 19


@pytest.mark.parametrize(
    "second",
    [
        Pause((offer(65, 86), offer(66, 87)), day(95)),  # starts inside the first
        Pause((offer(55, 76), offer(56, 77)), day(82)),  # ends inside the first
        Pause((offer(55, 76), offer(56, 77)), day(100)),  # covers the first
        Pause((offer(55, 76), offer(56, 77)), None),  # open, from before the first
    ],
)
def test_overlapping_pauses_are_refused(second):
    first = Pause((offer(60, 81), offer(61, 82)), day(90))
    with pytest.raises(ValueError, match="overlaps"):
        validate([REFERRAL, DecisionToAdmit(day(50)), first, second], rules=OLD)


def test_a_pause_after_an_open_pause_is_refused():
    first = Pause((offer(60, 81), offer(61, 82)))
    second = Pause((offer(100, 121), offer(101, 122)), day(130))
    with pytest.raises(ValueError, match="has not ended"):
        validate([REFERRAL, DecisionToAdmit(day(50)), first, second], rules=OLD)
