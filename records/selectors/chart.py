"""The NEWS2 observation chart as data: each parameter drawn against its scoring bands, as on the
RCP paper chart, one column per set (and a gap column where a day or more passed without any). Pure:
it takes sets and times and returns rows and sentences for a template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from records.rules import news2
from records.rules.patients import describe_duration, describe_frequency, describe_moment

Band = tuple[str, int, Callable[[Any], bool]]


def _rows(bands: tuple[news2.Band, ...]) -> list[Band]:
    return [(b.label, b.score, b.holds) for b in bands]


# The scoring tables themselves, so the chart can never disagree with the score.
RESPIRATION = _rows(news2.RESPIRATION_BANDS)
SPO2_SCALE1 = _rows(news2.SPO2_SCALE1_BANDS)
SYSTOLIC = _rows(news2.SYSTOLIC_BANDS)
PULSE = _rows(news2.PULSE_BANDS)
TEMPERATURE = _rows(news2.TEMPERATURE_BANDS)
CONSCIOUSNESS: list[Band] = [
    ("Alert", 0, lambda v: v == "A"),
    ("CVPU", 3, lambda v: v in ("C", "V", "P", "U")),
]
AIR_OR_OXYGEN: list[Band] = [("Air", 0, lambda v: v is False), ("Oxygen", 2, lambda v: v is True)]


SPO2_SCALE2: list[tuple[str, int, Callable[[int, bool], bool]]] = [
    ("≥97 on O₂", 3, lambda s, o: o and s >= 97),
    ("95–96 on O₂", 2, lambda s, o: o and 95 <= s <= 96),
    ("93–94 on O₂", 1, lambda s, o: o and 93 <= s <= 94),
    ("≥93 on air", 0, lambda s, o: not o and s >= 93),
    ("88–92", 0, lambda s, o: 88 <= s <= 92),
    ("86–87", 1, lambda s, o: 86 <= s <= 87),
    ("84–85", 2, lambda s, o: 84 <= s <= 85),
    ("≤83", 3, lambda s, o: s <= 83),
]


@dataclass(frozen=True)
class BandRow:
    label: str
    score: int
    cells: list[str | None]  # None in a gap column


# A longer silence than this between two sets gets its own column, so days without observations are seen
# rather than two sets looking a column apart.
GAP_AT_LEAST = timedelta(days=1)


@dataclass(frozen=True)
class Column:
    """One chart column: a set, or (set None) a gap between two sets."""

    set: Any | None
    gap: str = ""  # "No observations for 3 days"

    @property
    def not_scored(self) -> bool:
        return self.set is not None and self.set.news2_total is None


def _news2_values(obs: Any) -> dict[str, Any]:
    return {name: getattr(obs, name) for name in news2.NEWS2_PARAMETERS}


def not_scored_reason(obs: Any) -> str:
    """Why a set has no NEWS2: 'NEWS2 not scored: the set has no SpO2 or temperature.'"""
    return news2.not_scored_reason(_news2_values(obs))


def missing_of(obs: Any) -> str:
    """The NEWS2 parameters a set lacks: 'SpO2 or temperature'."""
    return news2.describe_missing(_news2_values(obs))


def chart_columns(sets: Sequence[Any], *, gap_at_least: timedelta = GAP_AT_LEAST) -> list[Column]:
    """Columns for sets given oldest first, with a gap column wherever `gap_at_least` or more passed."""
    columns: list[Column] = []
    for previous, current in zip([None, *sets], sets, strict=False):
        if previous is not None and current.taken_at - previous.taken_at >= gap_at_least:
            silence = describe_duration(current.taken_at - previous.taken_at)
            columns.append(Column(None, f"No observations for {silence}"))
        columns.append(Column(current))
    return columns


def _spread(cells: list[str | None], columns: Sequence[Column]) -> list[str | None]:
    """A row's cells (one per set) placed under the columns, None under each gap."""
    values = iter(cells)
    return [None if column.set is None else next(values) for column in columns]


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[BandRow]


def _section(title: str, bands: list[Band], values: Sequence[Any], shown: Sequence[str]) -> Section:
    rows = [
        BandRow(label, score, [s if match(v) else "" for v, s in zip(values, shown, strict=True)])
        for label, score, match in bands
    ]
    return Section(title, rows)


def _fmt(value: Any) -> str:
    return "" if value is None else str(value)


def chart_sections(
    sets: Sequence[Any], *, scale: int, columns: Sequence[Column] | None = None
) -> list[Section]:
    """Sections of band rows for sets given oldest first (left to right); with `columns` (from
    chart_columns(sets)) each row also has an empty cell under every gap column."""
    sections = _set_sections(sets, scale=scale)
    if columns is None:
        return sections
    return [
        Section(section.title, [BandRow(r.label, r.score, _spread(r.cells, columns)) for r in section.rows])
        for section in sections
    ]


def _set_sections(sets: Sequence[Any], *, scale: int) -> list[Section]:
    rr = [s.respiration_rate for s in sets]
    spo2 = [s.spo2 for s in sets]
    sections = [_section("Respiration rate (per minute)", RESPIRATION, rr, [_fmt(v) for v in rr])]
    if scale == 2:
        rows = [
            BandRow(
                label,
                score,
                [
                    _fmt(s.spo2)
                    if s.spo2 is not None and s.on_oxygen is not None and match(s.spo2, s.on_oxygen)
                    else ""
                    for s in sets
                ],
            )
            for label, score, match in SPO2_SCALE2
        ]
        sections.append(Section("SpO₂ Scale 2 (%)", rows))
    else:
        sections.append(_section("SpO₂ Scale 1 (%)", SPO2_SCALE1, spo2, [_fmt(v) for v in spo2]))
    o2 = [s.on_oxygen for s in sets]
    o2_shown = [
        (f"{s.oxygen_flow} L" if s.oxygen_flow is not None else "O₂")
        if s.on_oxygen
        else ("A" if s.on_oxygen is False else "")
        for s in sets
    ]
    sections.append(_section("Air or oxygen?", AIR_OR_OXYGEN, o2, o2_shown))
    bp = [s.systolic_bp for s in sets]
    bp_shown = [f"{s.systolic_bp}/{s.diastolic_bp}" if s.diastolic_bp else _fmt(s.systolic_bp) for s in sets]
    sections.append(_section("Blood pressure (mmHg, scored on systolic)", SYSTOLIC, bp, bp_shown))
    pulse = [s.pulse for s in sets]
    sections.append(_section("Pulse (per minute)", PULSE, pulse, [_fmt(v) for v in pulse]))
    acvpu = [s.consciousness or None for s in sets]
    sections.append(_section("Consciousness", CONSCIOUSNESS, acvpu, [v or "" for v in acvpu]))
    temp = [s.temperature for s in sets]
    sections.append(_section("Temperature (°C)", TEMPERATURE, temp, [_fmt(v) for v in temp]))
    return sections


@dataclass(frozen=True)
class DueLine:
    overdue: bool
    headline: str  # "Observations overdue" / "Next observations due 14:00 today"
    detail: str  # "Last observations 2 days ago; due every hour (due 14:00 on 29 Nov)."


def due_line(
    *, last_taken_at: datetime | None, due_at: datetime, now: datetime, later_unscored: bool = False
) -> DueLine:
    """When the next observations are due, from the due time the alert service computes (the last
    scored set's time plus its monitoring interval, or the admission's first due time), said in words.
    `later_unscored`: a newer incomplete set exists, so the clock is said to run from a complete one."""
    when = describe_moment(due_at, now=now)
    if last_taken_at is None:  # admitted, no set scored yet (the clock runs from the admission)
        first = "First complete observations" if later_unscored else "First observations"
        if due_at <= now:
            return DueLine(True, f"{first} overdue", f"They were due {when}.")
        return DueLine(False, f"{first} due {when}", "")
    last = "Last complete observations" if later_unscored else "Last observations"
    ago, every = describe_duration(now - last_taken_at), describe_frequency(due_at - last_taken_at)
    detail = f"{last} {ago} ago; due {every}"
    if due_at <= now:
        return DueLine(
            True,
            f"Observations overdue by {describe_duration(now - due_at)}",
            f"{detail} (due {when}).",
        )
    return DueLine(False, f"Next observations due {when}", f"{detail}.")
