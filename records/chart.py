"""The NEWS2 observation chart as data: each parameter drawn against its scoring bands, as on the
RCP paper chart, one column per set. Pure: it takes sets and returns rows for a template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Band = tuple[str, int, Callable[[Any], bool]]


def _between(low, high) -> Callable[[Any], bool]:
    return lambda v: v is not None and low <= v <= high


RESPIRATION: list[Band] = [
    ("≥25", 3, _between(25, 999)),
    ("21–24", 2, _between(21, 24)),
    ("12–20", 0, _between(12, 20)),
    ("9–11", 1, _between(9, 11)),
    ("≤8", 3, _between(0, 8)),
]
SPO2_SCALE1: list[Band] = [
    ("≥96", 0, _between(96, 100)),
    ("94–95", 1, _between(94, 95)),
    ("92–93", 2, _between(92, 93)),
    ("≤91", 3, _between(0, 91)),
]
SYSTOLIC: list[Band] = [
    ("≥220", 3, _between(220, 999)),
    ("111–219", 0, _between(111, 219)),
    ("101–110", 1, _between(101, 110)),
    ("91–100", 2, _between(91, 100)),
    ("≤90", 3, _between(0, 90)),
]
PULSE: list[Band] = [
    ("≥131", 3, _between(131, 999)),
    ("111–130", 2, _between(111, 130)),
    ("91–110", 1, _between(91, 110)),
    ("51–90", 0, _between(51, 90)),
    ("41–50", 1, _between(41, 50)),
    ("≤40", 3, _between(0, 40)),
]
CONSCIOUSNESS: list[Band] = [
    ("Alert", 0, lambda v: v == "A"),
    ("CVPU", 3, lambda v: v in ("C", "V", "P", "U")),
]
TEMPERATURE: list[Band] = [
    ("≥39.1", 2, _between(Decimal("39.1"), Decimal("99"))),
    ("38.1–39.0", 1, _between(Decimal("38.1"), Decimal("39.0"))),
    ("36.1–38.0", 0, _between(Decimal("36.1"), Decimal("38.0"))),
    ("35.1–36.0", 1, _between(Decimal("35.1"), Decimal("36.0"))),
    ("≤35.0", 3, _between(Decimal("0"), Decimal("35.0"))),
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
    cells: list[str]


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


def chart_sections(sets: Sequence[Any], *, scale: int) -> list[Section]:
    """Sections of band rows for sets given oldest first (left to right)."""
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
