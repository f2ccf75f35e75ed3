"""The chart puts every value in the band that scores it: the same tables as the NEWS2 score."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from records.rules import news2
from records.selectors import chart


def a_set(**values):
    normal = {
        "respiration_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "oxygen_flow": None,
        "systolic_bp": 125,
        "diastolic_bp": 80,
        "pulse": 72,
        "consciousness": "A",
        "temperature": Decimal("36.8"),
    }
    return SimpleNamespace(**{**normal, **values})


def test_each_value_sits_in_the_row_of_its_score():
    sets = [a_set(), a_set(respiration_rate=22, pulse=131, temperature=Decimal("35.0"), systolic_bp=91)]
    sections = {s.title.split(" (")[0]: s for s in chart.chart_sections(sets, scale=1)}
    expected = {
        "Respiration rate": [news2.score_respiration(16), news2.score_respiration(22)],
        "Pulse": [news2.score_pulse(72), news2.score_pulse(131)],
        "Temperature": [news2.score_temperature(Decimal("36.8")), news2.score_temperature(Decimal("35.0"))],
        "Blood pressure": [news2.score_systolic(125), news2.score_systolic(91)],
    }
    for title, scores in expected.items():
        for column, score in enumerate(scores):
            rows = [r for r in sections[title].rows if r.cells[column]]
            assert len(rows) == 1, title
            assert rows[0].score == score, title


def test_scale_two_rows_depend_on_oxygen():
    sets = [a_set(spo2=97, on_oxygen=True, oxygen_flow=Decimal("2")), a_set(spo2=97)]
    spo2 = next(s for s in chart.chart_sections(sets, scale=2) if s.title.startswith("SpO₂"))
    scores = [next(r.score for r in spo2.rows if r.cells[column]) for column in range(2)]
    assert scores == [3, 0]


def timed(taken_at, **values):
    return SimpleNamespace(**{**a_set(**values).__dict__, "taken_at": taken_at, "news2_total": 0})


T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_a_day_or_more_without_observations_gets_a_gap_column():
    sets = [timed(T0), timed(T0 + timedelta(hours=4)), timed(T0 + timedelta(days=3, hours=4))]
    columns = chart.chart_columns(sets)
    assert [c.gap for c in columns] == ["", "", "No observations for 3 days", ""]
    assert [c.set for c in columns if c.set] == sets
    # Every band row has an empty (None) cell under the gap and the values under their own sets.
    rr = chart.chart_sections(sets, scale=1, columns=columns)[0]
    normal = next(r for r in rr.rows if r.label == "12–20")
    assert normal.cells == ["16", "16", None, "16"]


def test_just_under_a_day_is_no_gap():
    sets = [timed(T0), timed(T0 + timedelta(hours=23, minutes=59))]
    assert [c.gap for c in chart.chart_columns(sets)] == ["", ""]
    assert chart.chart_columns([]) == []


def test_a_column_knows_its_set_was_not_scored():
    unscored = SimpleNamespace(**{**timed(T0).__dict__, "news2_total": None})
    columns = chart.chart_columns([timed(T0 - timedelta(hours=1)), unscored])
    assert [c.not_scored for c in columns] == [False, True]


NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_due_line_before_the_due_time():
    line = chart.due_line(last_taken_at=NOW - timedelta(hours=1), due_at=NOW + timedelta(hours=3), now=NOW)
    assert line == chart.DueLine(
        False, "Next observations due 13:00 today", "Last observations 1 hour ago; due every 4 hours."
    )


def test_due_line_when_overdue_says_how_long_and_since_when():
    line = chart.due_line(
        last_taken_at=NOW - timedelta(days=2), due_at=NOW - timedelta(days=2) + timedelta(hours=1), now=NOW
    )
    assert line.overdue
    assert line.headline == "Observations overdue by 1 day 23 hours"
    assert line.detail == "Last observations 2 days ago; due every hour (due 11:00 on 29 Nov)."


def test_due_line_at_the_due_minute_is_overdue():
    assert chart.due_line(last_taken_at=NOW - timedelta(hours=4), due_at=NOW, now=NOW).overdue


def test_due_line_names_the_complete_set_when_a_later_one_was_not_scored():
    line = chart.due_line(
        last_taken_at=NOW - timedelta(minutes=45),
        due_at=NOW + timedelta(minutes=15),
        now=NOW,
        later_unscored=True,
    )
    assert line.detail == "Last complete observations 45 minutes ago; due every hour."


def test_due_line_before_any_observations():
    assert chart.due_line(last_taken_at=None, due_at=NOW + timedelta(minutes=30), now=NOW) == chart.DueLine(
        False, "First observations due 10:30 today", ""
    )
    late = chart.due_line(last_taken_at=None, due_at=NOW - timedelta(minutes=30), now=NOW)
    assert late == chart.DueLine(True, "First observations overdue", "They were due 09:30 today.")


def test_due_line_before_any_complete_set_says_complete():
    line = chart.due_line(last_taken_at=None, due_at=NOW - timedelta(minutes=5), now=NOW, later_unscored=True)
    assert line == chart.DueLine(True, "First complete observations overdue", "They were due 09:55 today.")
