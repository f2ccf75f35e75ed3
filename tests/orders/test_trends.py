"""A result's trend: the chart geometry at its edges (orders/rules/trends.py) and the trend page,
with text reports (imaging, microbiology) shown as text rather than in the cumulative table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.urls import reverse

from orders.rules import trends
from orders.services.results import results_receive
from tests.support import signed_in

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_a_reference_range_gives_a_band_and_a_one_sided_range_does_not():
    assert trends.reference_limits("3.5-5.3") == (Decimal("3.5"), Decimal("5.3"))
    assert trends.reference_limits(">90") is None and trends.reference_limits("5-5") is None


def test_values_are_scaled_into_the_plot_in_time_order_highest_at_the_top():
    points = [
        trends.Point(START + timedelta(days=2), Decimal("6.9"), True),
        trends.Point(START, Decimal("4.0"), False),
        trends.Point(START + timedelta(days=1), Decimal("5.0"), False),
    ]
    chart = trends.chart(points, "3.5-5.3")
    assert chart is not None
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and xs[0] == chart.plot_left and xs[-1] == chart.plot_right
    assert chart.points[-1].y < chart.points[0].y  # 6.9 is drawn above 4.0
    assert all(chart.plot_left <= p.x <= chart.plot_right for p in chart.points)
    assert chart.band is not None and chart.band[1] > 0
    assert [p.abnormal for p in chart.points] == [False, False, True]


def test_one_value_or_equal_values_still_draw():
    one = trends.chart([trends.Point(START, Decimal("4"), False)])
    assert one is not None and len(one.points) == 1
    flat = trends.chart(
        [trends.Point(START, Decimal("4"), False), trends.Point(START + timedelta(1), Decimal("4"), False)]
    )
    assert flat is not None and flat.points[0].y == flat.points[1].y
    assert trends.chart([]) is None


def _flag(value: str) -> str:
    return "H" if Decimal(value) > Decimal("5.3") else ""


def oru(patient, control: str, potassium: str, when: str) -> str:
    return (
        "\r".join(
            [
                f"MSH|^~\\&|WINPATH|RXX01|EPR|RXX|{when}||ORU^R01|{control}|P|2.4",
                f"PID|||{patient.nhs_number}^^^NHS^NH||{patient.family_name}^{patient.given_names}||{patient.date_of_birth:%Y%m%d}",
                f"OBR|1|||U&E^Urea and electrolytes^L|||{when}|||||||||||||||{when}|||F",
                f"OBX|1|NM|2823-3^Potassium^LN||{potassium}|mmol/L|3.5-5.3|{_flag(potassium)}|||F",
            ]
        )
        + "\r"
    )


def test_the_trend_page_charts_a_test_and_lists_its_values(admitted, doctor):
    patient = admitted.patient
    for n, value in enumerate(["4.1", "4.8", "5.9"]):
        results_receive(oru(patient, f"T{n}", value, f"2026112{n}0900"), channel="test")
    client = signed_in(doctor)
    results = client.get(reverse("orders:results", args=[patient.pk]))
    assert b'data-testid="trend-link"' in results.content
    page = client.get(reverse("orders:result_trend", args=[patient.pk, "2823-3"]))
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        'data-testid="trend-chart"' in text
        and text.count("<circle") == 3
        and "epr-trend__point--abnormal" in text
    )
    table = text.split('data-testid="trend-values"')[1]
    assert table.index("5.9") < table.index("4.1")  # the table lists the newest first
    missing = client.get(reverse("orders:result_trend", args=[patient.pk, "0000-0"]))
    assert missing.status_code == 404


def test_a_radiology_report_is_shown_as_text_not_in_the_table(admitted, doctor):
    patient = admitted.patient
    message = (
        "\r".join(
            [
                "MSH|^~\\&|CRIS|RXX01|EPR|RXX|202611300900||ORU^R01|R1|P|2.4",
                f"PID|||{patient.nhs_number}^^^NHS^NH||{patient.family_name}^{patient.given_names}||{patient.date_of_birth:%Y%m%d}",
                "OBR|1|||CXR^Chest X-ray^L|||202611300900|||||||||||||||202611300900|||F",
                "OBX|1|TX|CXR^Chest X-ray report^L||Right lower lobe consolidation.~No effusion.||||||F",
            ]
        )
        + "\r"
    )
    results_receive(message, channel="test")
    page = signed_in(doctor).get(reverse("orders:results", args=[patient.pk]))
    text = page.content.decode()
    assert 'data-testid="text-report"' in text and "Right lower lobe consolidation." in text
    assert (
        'data-testid="cumulative"' not in text.split('data-testid="text-report"')[0]
        or "Chest X-ray report</th>" not in text
    )
