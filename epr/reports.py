"""The kernel's registry of managers' reports and statutory returns. Each app registers the reports
over its own data from its wiring.py; the Reports page, the scheduler and the returns' Celery task
read them from here and never name an app. The registry only: the reports app fills it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The filters a report may offer; the page draws each one the same way whatever the report.
PARAMETER_KINDS = frozenset({"date_range", "site", "ward", "specialty", "team", "consultant"})
PERIODS = frozenset({"monthly", "quarterly", "annual"})


@dataclass(frozen=True)
class ReportTable:
    """What a report returns: column headings and rows of plain values, ready for a table or a CSV."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Report:
    code: str  # in URLs: "bed-occupancy"
    title: str  # "Bed occupancy by ward"
    answers: str  # the question it answers, shown in the catalogue
    area: str  # the catalogue's group: "Patient flow"
    roles: frozenset[str]  # who may run it
    run: Callable[[Any, Mapping[str, Any]], ReportTable]  # (user, chosen parameters) -> table
    parameters: tuple[str, ...] = ()
    names_patients: bool = False  # then each row needs clinical access, or the report shows counts only

    def __post_init__(self) -> None:
        unknown = set(self.parameters) - PARAMETER_KINDS
        if unknown:
            raise ValueError(f"Report {self.code!r}: unknown parameters {sorted(unknown)}.")


@dataclass(frozen=True)
class StatutoryReturn:
    code: str  # "kh03"
    title: str  # "KH03 bed availability and occupancy"
    period: str  # how often it is due
    roles: frozenset[str]
    # (period start, period end) -> the files of the return, by file name, as rows of values
    generate: Callable[[Any, Any], Mapping[str, ReportTable]]
    checks: tuple[str, ...] = field(default=())  # what is validated before submission, in words

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ValueError(f"Return {self.code!r}: period must be one of {sorted(PERIODS)}.")


_reports: dict[str, Report] = {}
_returns: dict[str, StatutoryReturn] = {}


def _add(registry: dict[str, Any], code: str, item: Any, noun: str) -> None:
    if code in registry and registry[code] is not item:
        raise ValueError(f"A {noun} with code {code!r} is already registered.")
    registry[code] = item


def register_report(report: Report) -> None:
    _add(_reports, report.code, report, "report")


def register_statutory_return(statutory_return: StatutoryReturn) -> None:
    _add(_returns, statutory_return.code, statutory_return, "statutory return")


def _may_run(user: Any, roles: frozenset[str]) -> bool:
    return getattr(user, "role", None) in roles


def reports_for(user: Any) -> list[Report]:
    """The catalogue as this user sees it: the reports their role may run, by area then title."""
    return sorted((r for r in _reports.values() if _may_run(user, r.roles)), key=lambda r: (r.area, r.title))


def report(code: str) -> Report:
    try:
        return _reports[code]
    except KeyError:
        raise LookupError(f"No report {code!r} is registered.") from None


def statutory_returns_for(user: Any) -> list[StatutoryReturn]:
    return sorted((r for r in _returns.values() if _may_run(user, r.roles)), key=lambda r: r.title)


def statutory_return(code: str) -> StatutoryReturn:
    try:
        return _returns[code]
    except KeyError:
        raise LookupError(f"No statutory return {code!r} is registered.") from None
