"""The chart puts every value in the band that scores it: the same tables as the NEWS2 score."""

from decimal import Decimal
from types import SimpleNamespace

from records import chart, news2


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
