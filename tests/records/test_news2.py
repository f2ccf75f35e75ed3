"""NEWS2 rules against every band boundary of the RCP table."""

from datetime import timedelta
from decimal import Decimal

import pytest

from records.rules import news2
from records.rules.news2 import Consciousness, Escalation, Risk, VitalSigns, VitalSignsError


@pytest.mark.parametrize(
    ("rate", "score"),
    [(1, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_bands(rate, score):
    assert news2.score_respiration(rate) == score


@pytest.mark.parametrize(("spo2", "score"), [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)])
def test_spo2_scale1_bands(spo2, score):
    assert news2.score_spo2_scale1(spo2) == score


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "score"),
    [
        (83, False, 3),
        (84, False, 2),
        (85, True, 2),
        (86, False, 1),
        (87, True, 1),
        (88, False, 0),
        (92, True, 0),
        (88, True, 0),
        (93, False, 0),
        (97, False, 0),
        (100, False, 0),  # 93 or more on air scores 0
        (93, True, 1),
        (94, True, 1),
        (95, True, 2),
        (96, True, 2),
        (97, True, 3),
        (100, True, 3),
    ],
)
def test_spo2_scale2_bands_air_versus_oxygen(spo2, on_oxygen, score):
    assert news2.score_spo2_scale2(spo2, on_oxygen=on_oxygen) == score


def test_supplemental_oxygen_adds_two_on_both_scales():
    assert news2.score_air_or_oxygen(True) == 2
    assert news2.score_air_or_oxygen(False) == 0


@pytest.mark.parametrize(
    ("systolic", "score"), [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)]
)
def test_systolic_bands(systolic, score):
    assert news2.score_systolic(systolic) == score


@pytest.mark.parametrize(
    ("pulse", "score"),
    [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3)],
)
def test_pulse_bands(pulse, score):
    assert news2.score_pulse(pulse) == score


@pytest.mark.parametrize(("level", "score"), [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_new_confusion_and_cvpu_score_three(level, score):
    assert news2.score_consciousness(level) == score


@pytest.mark.parametrize(
    ("temperature", "score"),
    [
        ("35.0", 3),
        ("35.1", 1),
        ("36.0", 1),
        ("36.1", 0),
        ("38.0", 0),
        ("38.1", 1),
        ("39.0", 1),
        ("39.1", 2),
        ("35.04", 3),
        ("35.05", 1),  # scored at one decimal place, half-up
    ],
)
def test_temperature_bands(temperature, score):
    assert news2.score_temperature(Decimal(temperature)) == score


def vitals(**changes) -> VitalSigns:
    normal = {
        "respiration_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "systolic_bp": 125,
        "pulse": 72,
        "consciousness": Consciousness.ALERT,
        "temperature": Decimal("36.8"),
    }
    return VitalSigns(**{**normal, **changes})


def test_normal_set_scores_zero_with_twelve_hourly_monitoring():
    result = news2.news2(vitals())
    assert result.total == 0
    assert result.risk == Risk.LOW
    assert result.monitoring_interval == timedelta(hours=12)
    assert result.escalation == Escalation.NONE


def test_maximum_is_twenty():
    worst = vitals(
        respiration_rate=30,
        spo2=80,
        on_oxygen=True,
        systolic_bp=85,
        pulse=140,
        consciousness=Consciousness.UNRESPONSIVE,
        temperature=Decimal("34.0"),
    )
    assert news2.news2(worst).total == 20


def test_a_single_red_score_raises_an_alert_below_five():
    result = news2.news2(vitals(consciousness=Consciousness.NEW_CONFUSION))
    assert result.total == 3
    assert result.red_score
    assert result.risk == Risk.LOW_MEDIUM
    assert result.escalation == Escalation.ALERT
    assert result.monitoring_interval == timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "total", "risk", "escalation"),
    [
        ({"pulse": 95}, 1, Risk.LOW, Escalation.NONE),
        ({"pulse": 115, "respiration_rate": 22}, 4, Risk.LOW, Escalation.NONE),
        (
            {"pulse": 115, "respiration_rate": 22, "temperature": Decimal("38.5")},
            5,
            Risk.MEDIUM,
            Escalation.ALERT,
        ),
        (
            {"pulse": 115, "respiration_rate": 22, "on_oxygen": True, "spo2": 96},
            6,
            Risk.MEDIUM,
            Escalation.ALERT,
        ),
        (
            {"pulse": 115, "respiration_rate": 22, "on_oxygen": True, "temperature": Decimal("38.5")},
            7,
            Risk.HIGH,
            Escalation.URGENT,
        ),
    ],
)
def test_thresholds(changes, total, risk, escalation):
    result = news2.news2(vitals(**changes))
    assert (result.total, result.risk, result.escalation) == (total, risk, escalation)


def test_scale2_on_oxygen_scores_high_saturation():
    on_o2 = vitals(spo2=98, on_oxygen=True)
    assert news2.news2(on_o2, scale=1).scores["spo2"] == 0
    assert news2.news2(on_o2, scale=2).scores["spo2"] == 3
    assert news2.news2(vitals(spo2=98), scale=2).scores["spo2"] == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"spo2": 101}, "spo2"),
        ({"respiration_rate": -4}, "respiration_rate"),
        ({"temperature": Decimal("60")}, "temperature"),
        ({"pulse": 0}, "pulse"),
        ({"systolic_bp": 400}, "systolic_bp"),
        ({"consciousness": "X"}, "consciousness"),
    ],
)
def test_impossible_values_are_refused_not_scored(changes, field):
    with pytest.raises(VitalSignsError) as refused:
        news2.news2(vitals(**changes))
    assert field in refused.value.errors


def test_diastolic_must_be_below_systolic():
    with pytest.raises(VitalSignsError, match="lower than systolic"):
        news2.check_plausible({"systolic_bp": 100, "diastolic_bp": 120})
