"""A result's trend as chart geometry: the values over time scaled into a box, the reference range
as a shaded band, and the axis ticks. Pure; the template draws it as inline SVG (no script, so it
prints and passes the content security policy)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 36
LONDON = ZoneInfo("Europe/London")
RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Point:
    at: datetime
    value: Decimal
    abnormal: bool


@dataclass(frozen=True)
class Plotted:
    x: float
    y: float
    abnormal: bool
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # the first and last date labels align inside the chart


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[Plotted]
    line: str  # the polyline's points attribute
    band: tuple[float, float] | None  # top y and height of the reference range, when known
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM
    plot_width: int = WIDTH - LEFT - RIGHT


def reference_limits(reference: str) -> tuple[Decimal, Decimal] | None:
    """ "3.5-5.3" as (3.5, 5.3); a one-sided range (">90", "<5") gives no band."""
    match = RANGE.match(reference or "")
    if not match:
        return None
    low, high = Decimal(match.group(1)), Decimal(match.group(2))
    return (low, high) if low < high else None


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / (count - 1)
    return [low + step * i for i in range(count)]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"


def chart(points: list[Point], reference: str = "") -> Chart | None:
    """The geometry of the values in time order; None with fewer than one value."""
    if not points:
        return None
    points = sorted(points, key=lambda p: p.at)
    limits = reference_limits(reference)
    values = [float(p.value) for p in points] + ([float(limits[0]), float(limits[1])] if limits else [])
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    start, end = points[0].at.timestamp(), points[-1].at.timestamp()
    span = (end - start) or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(moment: float) -> float:
        return LEFT + (inner_w / 2 if end == start else (moment - start) / span * inner_w)

    def y_of(value: float) -> float:
        return TOP + (high - value) / (high - low) * inner_h

    plotted = [
        Plotted(
            round(x_of(p.at.timestamp()), 1), round(y_of(float(p.value)), 1), p.abnormal, _fmt(float(p.value))
        )
        for p in points
    ]
    band = None
    if limits:
        top, bottom = y_of(float(limits[1])), y_of(float(limits[0]))
        band = (round(top, 1), round(bottom - top, 1))
    first, last = points[0].at.astimezone(LONDON), points[-1].at.astimezone(LONDON)
    x_ticks = [Tick(plotted[0].x, first.strftime("%d-%b"), "start" if len(points) > 1 else "middle")]
    if len(points) > 1:
        x_ticks.append(Tick(plotted[-1].x, last.strftime("%d-%b"), "end"))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=plotted,
        line=" ".join(f"{p.x},{p.y}" for p in plotted),
        band=band,
        y_ticks=[Tick(round(y_of(v), 1), _fmt(v)) for v in _ticks(low + pad, high - pad)],
        x_ticks=x_ticks,
    )
