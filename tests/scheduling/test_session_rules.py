"""Clinic session recurrence (scheduling/rules/sessions.py): weekly, fortnightly from an anchor, nth and
last weekday of the month, valid dates, bank holidays skipped; times in UTC from Europe/London wall-clock
times across the 2026 clock changes (29 March, 25 October), with missing and repeated times; slots with
a final partial slot dropped; and the template's validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.rules.sessions import (
    LAST,
    Recurrence,
    Session,
    SessionTemplate,
    UniformSlots,
    bank_holidays,
    falls_on,
    session_dates,
    session_slots,
    session_times,
    sessions,
)

LONDON = ZoneInfo("Europe/London")
MON, TUE, THU, SUN = 0, 1, 3, 6
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)  # the last Sundays of March and October 2026


def template(**overrides) -> SessionTemplate:
    values = {
        "weekday": TUE,
        "starts": time(9, 0),
        "ends": time(12, 0),
        "valid_from": date(2026, 1, 1),
        "slots": UniformSlots(15, "new"),
    }
    return SessionTemplate(**(values | overrides))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Recurrence


def test_weekly_sessions_fall_on_every_such_weekday_in_the_range_both_ends_included():
    found = session_dates(template(), date(2026, 3, 3), date(2026, 3, 31))
    assert found == [
        date(2026, 3, 3),
        date(2026, 3, 10),
        date(2026, 3, 17),
        date(2026, 3, 24),
        date(2026, 3, 31),
    ]


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        # The anchor at the start, and the anchor later than the range: the fortnights count both ways.
        (date(2026, 1, 6), [date(2026, 1, 6), date(2026, 1, 20), date(2026, 2, 3), date(2026, 2, 17)]),
        (date(2026, 6, 2), [date(2026, 1, 13), date(2026, 1, 27), date(2026, 2, 10), date(2026, 2, 24)]),
        (date(2025, 12, 30), [date(2026, 1, 13), date(2026, 1, 27), date(2026, 2, 10), date(2026, 2, 24)]),
    ],
)
def test_fortnightly_sessions_are_every_other_week_from_the_anchor(anchor, expected):
    fortnightly = template(recurrence=Recurrence.FORTNIGHTLY, anchor=anchor)
    assert session_dates(fortnightly, date(2026, 1, 1), date(2026, 2, 28)) == expected


def test_a_fortnightly_anchor_before_valid_from_still_sets_the_weeks():
    fortnightly = template(
        recurrence=Recurrence.FORTNIGHTLY, anchor=date(2026, 1, 6), valid_from=date(2026, 1, 14)
    )
    assert session_dates(fortnightly, date(2026, 1, 1), date(2026, 2, 10)) == [
        date(2026, 1, 20),
        date(2026, 2, 3),
    ]


def test_the_second_tuesday_of_each_month():
    second = template(recurrence=Recurrence.MONTHLY, nth=2)
    assert session_dates(second, date(2026, 1, 1), date(2026, 6, 30)) == [
        date(2026, 1, 13),
        date(2026, 2, 10),
        date(2026, 3, 10),
        date(2026, 4, 14),
        date(2026, 5, 12),
        date(2026, 6, 9),
    ]


@pytest.mark.parametrize(
    ("month", "last", "fourth"),
    [
        # Months of 2026 with five Thursdays: the last is the 5th, not the 4th.
        (1, date(2026, 1, 29), date(2026, 1, 22)),
        (4, date(2026, 4, 30), date(2026, 4, 23)),
        (7, date(2026, 7, 30), date(2026, 7, 23)),
        (10, date(2026, 10, 29), date(2026, 10, 22)),
        (12, date(2026, 12, 31), date(2026, 12, 24)),
        # Months with four: the last is the 4th.
        (2, date(2026, 2, 26), date(2026, 2, 26)),
        (3, date(2026, 3, 26), date(2026, 3, 26)),
        (11, date(2026, 11, 26), date(2026, 11, 26)),
    ],
)
def test_the_last_thursday_is_the_fifth_in_a_five_thursday_month(month, last, fourth):
    first_day = date(2026, month, 1)
    end = (first_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    last_thursday = template(weekday=THU, recurrence=Recurrence.MONTHLY, nth=LAST)
    fourth_thursday = template(weekday=THU, recurrence=Recurrence.MONTHLY, nth=4)
    assert session_dates(last_thursday, first_day, end) == [last]
    assert session_dates(fourth_thursday, first_day, end) == [fourth]


def test_the_last_weekday_across_a_year_end():
    last_thursday = template(weekday=THU, recurrence=Recurrence.MONTHLY, nth=LAST)
    assert session_dates(last_thursday, date(2026, 12, 1), date(2027, 1, 31)) == [
        date(2026, 12, 31),
        date(2027, 1, 28),
    ]


def test_a_template_valid_until_mid_range_stops_there_and_includes_that_day():
    ending = template(valid_until=date(2026, 3, 17))
    assert session_dates(ending, date(2026, 3, 1), date(2026, 4, 30)) == [
        date(2026, 3, 3),
        date(2026, 3, 10),
        date(2026, 3, 17),
    ]
    assert falls_on(ending, date(2026, 3, 17)) and not falls_on(ending, date(2026, 3, 24))


def test_a_template_valid_from_mid_range_starts_there():
    starting = template(valid_from=date(2026, 3, 10))
    assert session_dates(starting, date(2026, 3, 1), date(2026, 3, 17)) == [
        date(2026, 3, 10),
        date(2026, 3, 17),
    ]


def test_a_range_wholly_outside_the_valid_dates_has_no_sessions():
    assert session_dates(template(valid_until=date(2026, 2, 1)), date(2026, 3, 1), date(2026, 3, 31)) == []


def test_a_range_of_one_day():
    assert session_dates(template(), date(2026, 3, 3), date(2026, 3, 3)) == [date(2026, 3, 3)]
    assert session_dates(template(), date(2026, 3, 4), date(2026, 3, 4)) == []


def test_bank_holidays_passed_in_are_skipped():
    monday = template(weekday=MON)
    found = session_dates(monday, date(2026, 3, 30), date(2026, 6, 1), skip=bank_holidays(2026))
    assert date(2026, 4, 6) not in found and date(2026, 5, 4) not in found and date(2026, 5, 25) not in found
    assert found[:2] == [date(2026, 3, 30), date(2026, 4, 13)] and found[-1] == date(2026, 6, 1)
    assert len(found) == 10 - 3


# Clock changes


def test_a_0900_clinic_is_at_0900_london_time_all_year_across_both_clock_changes():
    weekly = template(weekday=SUN, valid_until=date(2026, 12, 31))
    found = sessions(weekly, date(2026, 1, 1), date(2026, 12, 31))
    assert len(found) == 52
    for session in found:
        assert session.starts_at.tzinfo is UTC
        assert session.starts_at.astimezone(LONDON).time() == time(9, 0)
        assert session.ends_at.astimezone(LONDON).time() == time(12, 0)
        assert session.ends_at - session.starts_at == timedelta(hours=3)


@pytest.mark.parametrize(
    ("day", "starts_at"),
    [
        (date(2026, 3, 22), utc(2026, 3, 22, 9, 0)),  # GMT: the Sunday before
        (SPRING, utc(2026, 3, 29, 8, 0)),  # BST from 01:00 UTC that morning
        (date(2026, 3, 31), utc(2026, 3, 31, 8, 0)),  # the Tuesday after
        (date(2026, 10, 20), utc(2026, 10, 20, 8, 0)),  # BST: the Tuesday before
        (AUTUMN, utc(2026, 10, 25, 9, 0)),  # GMT from 01:00 UTC that morning
        (date(2026, 10, 27), utc(2026, 10, 27, 9, 0)),  # the Tuesday after
    ],
)
def test_the_utc_start_moves_with_the_clock_change_weeks(day, starts_at):
    assert session_times(template(weekday=day.weekday()), day)[0] == starts_at


def test_a_start_that_does_not_exist_on_the_spring_day_is_shifted_forward_an_hour():
    night = template(weekday=SUN, starts=time(1, 30), ends=time(4, 0))
    starts_at, ends_at = session_times(night, SPRING)
    assert starts_at == utc(2026, 3, 29, 1, 30)  # 02:30 BST: the moment 01:30 GMT would have been
    assert starts_at.astimezone(LONDON).time() == time(2, 30)
    assert ends_at == utc(2026, 3, 29, 3, 0)  # 04:00 BST
    assert ends_at - starts_at == timedelta(hours=1, minutes=30)


def test_a_repeated_time_on_the_autumn_day_is_taken_the_first_time_in_bst():
    night = template(weekday=SUN, starts=time(1, 30), ends=time(4, 0))
    starts_at, ends_at = session_times(night, AUTUMN)
    assert starts_at == utc(2026, 10, 25, 0, 30)  # 01:30 BST, not 01:30 GMT an hour later
    assert starts_at.astimezone(LONDON).fold == 0
    assert ends_at == utc(2026, 10, 25, 4, 0)  # 04:00 GMT


def test_a_session_spanning_the_change_is_shorter_in_spring_and_longer_in_autumn_and_so_are_its_slots():
    night = template(weekday=SUN, starts=time(0, 30), ends=time(2, 30), slots=UniformSlots(30, "new"))
    spring, autumn, ordinary = (sessions(night, day, day)[0] for day in (SPRING, AUTUMN, date(2026, 3, 22)))
    assert spring.ends_at - spring.starts_at == timedelta(hours=1)
    assert autumn.ends_at - autumn.starts_at == timedelta(hours=3)
    assert ordinary.ends_at - ordinary.starts_at == timedelta(hours=2)
    assert [len(session_slots(night, s)) for s in (spring, autumn, ordinary)] == [2, 6, 4]


def test_a_session_left_with_no_time_on_the_spring_day_is_not_held():
    # 01:30 is shifted to 02:30 BST, after the 02:15 BST end.
    short = template(weekday=SUN, starts=time(1, 30), ends=time(2, 15))
    assert session_dates(short, SPRING, SPRING) == [SPRING]
    assert sessions(short, SPRING, SPRING) == []
    assert len(sessions(short, date(2026, 3, 22), date(2026, 4, 5))) == 2


# Slots


def session_on(day: date, starts: time, ends: time) -> Session:
    starts_at, ends_at = session_times(template(starts=starts, ends=ends), day)
    return Session(day, starts_at, ends_at)


def test_uniform_slots_fill_the_session_and_a_final_partial_slot_is_not_made():
    clinic = template(ends=time(9, 50), slots=UniformSlots(15, "follow-up"))
    made = session_slots(clinic, session_on(date(2026, 3, 3), time(9, 0), time(9, 50)))
    assert [(slot.starts_at, slot.ends_at) for slot in made] == [
        (utc(2026, 3, 3, 9, 0), utc(2026, 3, 3, 9, 15)),
        (utc(2026, 3, 3, 9, 15), utc(2026, 3, 3, 9, 30)),
        (utc(2026, 3, 3, 9, 30), utc(2026, 3, 3, 9, 45)),
    ]
    assert {slot.kind for slot in made} == {"follow-up"}


@pytest.mark.parametrize(
    ("minutes", "count"), [(60, 3), (59, 3), (61, 2), (180, 1), (181, 0), (1, 180), (45, 4), (50, 3)]
)
def test_uniform_slot_counts_at_the_edges(minutes, count):
    clinic = template(slots=UniformSlots(minutes, "new"))
    assert len(session_slots(clinic, session_on(date(2026, 3, 3), time(9, 0), time(12, 0)))) == count


def test_an_explicit_pattern_is_laid_once_in_order_with_its_types():
    clinic = template(ends=time(10, 0), slots=[(30, "new"), (15, "follow-up"), (15, "telephone")])
    made = session_slots(clinic, session_on(date(2026, 7, 7), time(9, 0), time(10, 0)))
    assert [(slot.starts_at, slot.kind) for slot in made] == [
        (utc(2026, 7, 7, 8, 0), "new"),  # BST
        (utc(2026, 7, 7, 8, 30), "follow-up"),
        (utc(2026, 7, 7, 8, 45), "telephone"),
    ]
    assert made[-1].ends_at == utc(2026, 7, 7, 9, 0)


def test_an_explicit_pattern_longer_than_the_session_stops_at_the_slot_that_would_overrun():
    clinic = template(ends=time(10, 0), slots=((40, "new"), (30, "new"), (10, "follow-up")))
    made = session_slots(clinic, session_on(date(2026, 3, 3), time(9, 0), time(10, 0)))
    assert [slot.kind for slot in made] == ["new"]  # nothing after the one that does not fit


def test_a_shorter_pattern_leaves_the_rest_of_the_session_free_and_no_slots_is_allowed():
    clinic = template(slots=((30, "new"),))
    assert len(session_slots(clinic, session_on(date(2026, 3, 3), time(9, 0), time(12, 0)))) == 1
    theatre = template(slots=())
    assert session_slots(theatre, session_on(date(2026, 3, 3), time(9, 0), time(12, 0))) == []


def test_a_template_is_immutable_and_hashable_even_from_a_list_of_slots():
    clinic = template(slots=[(30, "new")])
    assert clinic.slots == ((30, "new"),)
    assert hash(clinic) == hash(template(slots=((30, "new"),)))


# Validation


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends": time(9, 0)}, "must end after it starts"),
        ({"ends": time(8, 59)}, "must end after it starts"),
        ({"starts": time(9, 0, tzinfo=UTC)}, "without a zone"),
        ({"weekday": 7}, "weekday must be 0"),
        ({"weekday": -1}, "weekday must be 0"),
        ({"weekday": True}, "weekday must be 0"),
        ({"valid_until": date(2025, 12, 31)}, "before it is valid from"),
        ({"slots": UniformSlots(0, "new")}, "above 0"),
        ({"slots": UniformSlots(-15, "new")}, "above 0"),
        ({"slots": ((15, "new"), (0, "new"))}, "above 0"),
        ({"slots": ((True, "new"),)}, "above 0"),
        ({"slots": ((7.5, "new"),)}, "whole number"),
        ({"slots": UniformSlots(15, "")}, "needs a type"),
        ({"recurrence": "daily"}, "daily"),
        ({"recurrence": Recurrence.FORTNIGHTLY}, "needs an anchor"),
        ({"recurrence": Recurrence.FORTNIGHTLY, "anchor": date(2026, 1, 7)}, "is a Wednesday"),
        ({"anchor": date(2026, 1, 6)}, "Only a fortnightly"),
        ({"recurrence": Recurrence.MONTHLY}, "nth must be 1 to 4"),
        ({"recurrence": Recurrence.MONTHLY, "nth": 0}, "nth must be 1 to 4"),
        ({"recurrence": Recurrence.MONTHLY, "nth": 5}, "nth must be 1 to 4"),
        ({"recurrence": Recurrence.MONTHLY, "nth": -2}, "nth must be 1 to 4"),
        ({"nth": 2}, "Only a monthly"),
    ],
)
def test_an_invalid_template_is_refused_with_a_clear_message(overrides, message):
    with pytest.raises(ValueError, match=message):
        template(**overrides)


@pytest.mark.parametrize("nth", [1, 2, 3, 4, LAST])
def test_every_allowed_nth_is_accepted(nth):
    assert template(recurrence=Recurrence.MONTHLY, nth=nth).nth == nth


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends"):
        session_dates(template(), date(2026, 3, 10), date(2026, 3, 9))


# Bank holidays


def _easter(year: int) -> date:
    # The anonymous Gregorian computus (Meeus/Jones/Butcher): an independent check of the listed dates.
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _mondays(year: int, month: int) -> list[date]:
    day = date(year, month, 1)
    return [
        day + timedelta(days=n)
        for n in range(31)
        if (day + timedelta(days=n)).month == month and (day + timedelta(days=n)).weekday() == MON
    ]


def _substitutes(year: int) -> list[date]:
    # Christmas and Boxing Day, each moved to the next weekday not already a holiday.
    taken: list[date] = []
    for day in (date(year, 12, 25), date(year, 12, 26)):
        while day.weekday() >= 5 or day in taken:
            day += timedelta(days=1)
        taken.append(day)
    return taken


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_listed_bank_holidays_follow_the_england_and_wales_rules(year):
    new_year = date(year, 1, 1)
    while new_year.weekday() >= 5:
        new_year += timedelta(days=1)
    easter = _easter(year)
    expected = {
        new_year,
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        _mondays(year, 5)[0],
        _mondays(year, 5)[-1],
        _mondays(year, 8)[-1],
        *_substitutes(year),
    }
    assert bank_holidays(year) == expected and len(expected) == 8


def test_known_bank_holiday_dates():
    assert date(2026, 12, 28) in bank_holidays(2026)  # Boxing Day falls on a Saturday
    assert {date(2027, 12, 27), date(2027, 12, 28)} <= bank_holidays(2027)  # both fall at a weekend
    assert bank_holidays(2026, 2027) == bank_holidays(2026) | bank_holidays(2027)


def test_bank_holidays_of_another_year_are_the_callers_to_supply():
    with pytest.raises(ValueError, match="not 2028"):
        bank_holidays(2026, 2028)
