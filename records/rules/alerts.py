"""Pure rules for decision-support alerts: who acts on them, when a new score asks for a new response,
what a response must record, and the order a busy ward sees them in. No ORM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from records.rules.news2 import Risk

# The roles that act on records' two kinds of alert (RCP Chart 4: the registered nurse, then the
# medical team). Healthcare assistants take the observations, so they see overdue sets; pharmacists
# see neither.
NEWS2_ACTING_ROLES = frozenset({"nurse", "doctor"})
OVERDUE_ACTING_ROLES = frozenset({"nurse", "hca"})

_RISK_ORDER = {Risk.LOW: 0, Risk.LOW_MEDIUM: 1, Risk.MEDIUM: 2, Risk.HIGH: 3}

# Outcomes of an escalation that close the alert; "review requested" keeps it open until the review.
OUTCOMES_AWAITING_REVIEW = frozenset({"review_requested"})


def risk_rank(risk: str) -> int:
    try:
        return _RISK_ORDER[Risk(risk)]
    except ValueError:
        return 0


def risk_rose(before: str, after: str) -> bool:
    """A new score in a higher NEWS2 risk band (say 5, medium, to 9, high) needs a new response."""
    return risk_rank(after) > risk_rank(before)


@dataclass(frozen=True)
class ResponseErrors:
    errors: dict[str, str]

    def __bool__(self) -> bool:
        return bool(self.errors)


def check_response(
    *, required: bool, informed: str, informed_at: datetime | None, outcome: str, now: datetime
) -> ResponseErrors:
    """What is missing from a response to an alert, field by field. Where a response is required (every
    NEWS2 alert is raised at a red single parameter or a total of 5 or more, RCP Chart 4, and each needs
    the medical team informed), it must say who was informed, when and what came of it; overdue
    observations are answered by doing them."""
    errors: dict[str, str] = {}
    if not required:
        return ResponseErrors(errors)
    if not informed.strip():
        errors["informed"] = "Enter the name of the clinician or team you informed"
    if informed_at is None:
        errors["informed_at"] = "Enter when you informed them"
    elif informed_at > now:
        errors["informed_at"] = "The time you informed them cannot be in the future"
    if not outcome:
        errors["outcome"] = "Select what happened"
    return ResponseErrors(errors)
