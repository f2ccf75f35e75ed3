"""When a dose may be given (prescribing/rules/doses.py): due times across days and clock changes, the
on-time window at its edges, and as-required limits at theirs."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from prescribing.rules import doses
from prescribing.rules.doses import (
    WARD_TIME,
    AsRequired,
    Timing,
    Window,
    as_required_refusal,
    due_times,
    timing,
    too_early_message,
)


def ward(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARD_TIME)


EIGHT_AND_EIGHT = [time(8), time(20)]


def test_due_times_from_the_start_to_the_stop():
    due = due_times(
        EIGHT_AND_EIGHT,
        start=ward(2026, 12, 1, 9, 30),
        stop=ward(2026, 12, 3, 8, 0),  # a stop at a due time: that dose is not due
        since=ward(2026, 12, 1, 0, 0),
        until=ward(2026, 12, 5, 0, 0),
    )
    assert [d.astimezone(WARD_TIME) for d in due] == [
        ward(2026, 12, 1, 20),
        ward(2026, 12, 2, 8),
        ward(2026, 12, 2, 20),
    ]


def test_a_start_exactly_at_a_due_time_makes_that_dose_due():
    due = due_times(
        EIGHT_AND_EIGHT,
        start=ward(2026, 12, 1, 8),
        stop=None,
        since=ward(2026, 12, 1),
        until=ward(2026, 12, 1, 23),
    )
    assert [d.astimezone(WARD_TIME).hour for d in due] == [8, 20]


def test_the_range_asked_for_bounds_the_list_both_ends_included():
    due = due_times(
        EIGHT_AND_EIGHT,
        start=ward(2026, 1, 1),
        stop=None,
        since=ward(2026, 12, 1, 8),
        until=ward(2026, 12, 2, 8),
    )
    assert len(due) == 3


def test_nothing_is_due_outside_the_prescription_or_without_times():
    kwargs = {"since": ward(2026, 12, 1), "until": ward(2026, 12, 2)}
    assert due_times(EIGHT_AND_EIGHT, start=ward(2026, 12, 3), stop=None, **kwargs) == []
    assert due_times([], start=ward(2026, 11, 1), stop=None, **kwargs) == []


def test_eight_oclock_stays_eight_oclock_across_the_clock_change():
    due = due_times(
        [time(8)], start=ward(2026, 3, 28), stop=None, since=ward(2026, 3, 28), until=ward(2026, 3, 30, 12)
    )
    assert [d.astimezone(WARD_TIME).hour for d in due] == [8, 8, 8]
    assert [d.astimezone(UTC).hour for d in due] == [8, 7, 7]  # GMT, then BST


def test_a_time_the_spring_change_skips_is_due_24_hours_after_the_night_before():
    due = due_times(
        [time(1, 30)],
        start=ward(2026, 3, 28),
        stop=None,
        since=ward(2026, 3, 28),
        until=ward(2026, 3, 30, 12),
    )
    assert due[1] - due[0] == timedelta(hours=24)
    assert due[1].astimezone(WARD_TIME).strftime("%H:%M") == "02:30"


def test_a_time_the_autumn_change_repeats_is_due_once():
    due = due_times(
        [time(1, 30)],
        start=ward(2026, 10, 24),
        stop=None,
        since=ward(2026, 10, 24),
        until=ward(2026, 10, 26, 12),
    )
    assert len(due) == 3
    assert due[1].astimezone(WARD_TIME).utcoffset() == timedelta(hours=1)  # the first 01:30, still BST


@pytest.mark.parametrize(
    ("minutes_from_due", "expected"),
    [
        (-61, Timing.EARLY),
        (-60, Timing.ON_TIME),  # the window's edge is inside it
        (0, Timing.ON_TIME),
        (60, Timing.ON_TIME),
        (61, Timing.LATE),
    ],
)
def test_the_window_around_a_due_time(minutes_from_due, expected):
    due = ward(2026, 12, 1, 8)
    assert timing(due, due + timedelta(minutes=minutes_from_due), Window()) == expected


def test_a_trust_may_set_a_narrower_window():
    due = ward(2026, 12, 1, 8)
    window = Window(before=timedelta(minutes=30), after=timedelta(minutes=30))
    assert timing(due, due - timedelta(minutes=31), window) == Timing.EARLY
    assert too_early_message(due, window) == "This dose is due at 08:00 and may be given from 07:30."


FOUR_HOURLY_MAX_FOUR = AsRequired(min_interval=timedelta(hours=4), max_in_24_hours=4)


def test_an_as_required_dose_exactly_at_its_interval_may_be_given():
    last = ward(2026, 12, 1, 10)
    assert as_required_refusal([last], last + timedelta(hours=4), FOUR_HOURLY_MAX_FOUR) == ""


def test_an_as_required_dose_a_minute_early_is_refused_with_the_next_time():
    last = ward(2026, 12, 1, 10)
    message = as_required_refusal([last], last + timedelta(hours=3, minutes=59), FOUR_HOURLY_MAX_FOUR)
    assert message == (
        "The last dose was given at 10:00; doses must be at least 4 hours apart. "
        "The next may be given from 14:00."
    )


def test_the_24_hour_maximum_counts_doses_after_now_less_24_hours():
    now = ward(2026, 12, 2, 10)
    given = [now - timedelta(hours=h) for h in (24, 20, 15, 10, 5)]  # the first is exactly 24 h ago
    message = as_required_refusal(given, now, FOUR_HOURLY_MAX_FOUR)
    assert message.startswith("4 doses were given in the last 24 hours, the most allowed is 4.")
    assert message.endswith("from 02-Dec 14:00.")  # when the dose of 14:00 yesterday drops out
    assert as_required_refusal(given[:4], now, FOUR_HOURLY_MAX_FOUR) == ""  # 3 in the window


def test_a_rule_without_limits_and_doses_after_now_are_ignored():
    now = ward(2026, 12, 1, 10)
    assert as_required_refusal([now - timedelta(minutes=5)], now, AsRequired(None, None)) == ""
    assert as_required_refusal([now + timedelta(minutes=5)], now, FOUR_HOURLY_MAX_FOUR) == ""


def test_an_interval_in_minutes_reads_as_words():
    last = ward(2026, 12, 1, 10)
    rule = AsRequired(min_interval=timedelta(hours=1, minutes=30), max_in_24_hours=None)
    assert "at least 1 hour 30 minutes apart" in as_required_refusal([last], last + timedelta(hours=1), rule)


@pytest.mark.parametrize(
    ("per_kg", "weight", "step", "expected"),
    [
        ("15", "62", "0.1", "930"),  # 930 exactly
        ("15", "62.3", "1", "935"),  # 934.5 rounds half up
        ("15", "62.3", "500", "1000"),  # whole 500 mg tablets: 934.5 is nearer 1000
        ("10", "2", "500", "500"),  # 20 mg is nearest no tablet: never rounded to nothing
        ("1.5", "70", "2.5", "105"),
    ],
)
def test_a_weight_based_dose_rounds_to_a_measurable_amount(per_kg, weight, step, expected):
    assert doses.weight_based_dose(Decimal(per_kg), Decimal(weight), Decimal(step)) == Decimal(expected)


@pytest.mark.parametrize(
    ("rounded", "far"), [("1000", False), ("1031.25", False), ("1032", True), ("500", True)]
)
def test_a_rounded_dose_more_than_a_tenth_from_the_calculated_one_is_too_far(rounded, far):
    assert doses.too_far_from(Decimal("937.5"), Decimal(rounded)) is far
