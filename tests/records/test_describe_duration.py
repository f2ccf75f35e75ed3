"""Durations and due times as a nurse reads them: "6 days 18 hours", never "9752 minutes"."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from records.rules import news2
from records.rules import patients as rules


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(seconds=-300), "less than a minute"),  # a set timed just ahead of the server clock
        (timedelta(0), "less than a minute"),
        (timedelta(seconds=59), "less than a minute"),
        (timedelta(seconds=60), "1 minute"),
        (timedelta(seconds=119), "1 minute"),
        (timedelta(minutes=2), "2 minutes"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(minutes=59, seconds=59), "59 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=1, minutes=1), "1 hour 1 minute"),
        (timedelta(hours=1, minutes=5), "1 hour 5 minutes"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=23, minutes=59, seconds=59), "23 hours 59 minutes"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=1, minutes=59), "1 day"),
        (timedelta(days=1, hours=1), "1 day 1 hour"),
        (timedelta(days=2), "2 days"),
        (timedelta(minutes=9752), "6 days 18 hours"),
        (timedelta(days=400, hours=3), "400 days 3 hours"),
    ],
)
def test_describe_duration(duration, text):
    assert rules.describe_duration(duration) == text


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (timedelta(minutes=30), "every 30 minutes"),
        (timedelta(hours=1), "every hour"),
        (timedelta(hours=1, minutes=30), "every 1 hour 30 minutes"),
        (timedelta(hours=4), "every 4 hours"),
        (timedelta(hours=12), "every 12 hours"),
        (timedelta(days=1), "every day"),
    ],
)
def test_describe_frequency(interval, text):
    assert rules.describe_frequency(interval) == text


NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "14:00 today"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "00:00 today"),
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "23:59 yesterday"),
        (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), "00:00 tomorrow"),
        (datetime(2026, 11, 29, 14, 0, tzinfo=UTC), "14:00 on 29 Nov"),
        (datetime(2025, 12, 29, 14, 0, tzinfo=UTC), "14:00 on 29 Dec 2025"),
    ],
)
def test_describe_moment(moment, text):
    assert rules.describe_moment(moment, now=NOW) == text


def test_describe_moment_reads_in_the_time_zone_of_now():

    london_summer = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    assert rules.describe_moment(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), now=london_summer) == (
        "00:30 tomorrow"
    )


def test_not_scored_reason_names_every_missing_parameter_in_chart_order():
    two = {"pulse": 80, "on_oxygen": False}
    assert news2.not_scored_reason(two) == (
        "NEWS2 not scored: the set has no respiration rate, SpO2, systolic BP, consciousness or temperature."
    )
    all_but_temperature = {
        "respiration_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "systolic_bp": 120,
        "pulse": 70,
        "consciousness": "A",
    }
    assert news2.not_scored_reason(all_but_temperature) == "NEWS2 not scored: the set has no temperature."
    assert news2.not_scored_reason({**all_but_temperature, "temperature": 37}) == ""
    assert news2.missing_parameters({**all_but_temperature, "consciousness": ""}) == [
        "consciousness",
        "temperature",
    ]


def test_describe_missing_joins_with_or():
    assert news2.describe_missing({"spo2": 97}) == (
        "respiration rate, air or oxygen, systolic BP, pulse, consciousness or temperature"
    )
    everything_but_pulse = {name: 1 for name in news2.NEWS2_PARAMETERS if name != "pulse"}
    assert news2.describe_missing(everything_but_pulse) == "pulse"
    assert news2.describe_missing(dict.fromkeys(news2.NEWS2_PARAMETERS, 1)) == ""
