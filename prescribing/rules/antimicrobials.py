"""Antimicrobial review (Start Smart then Focus): a review of every antimicrobial 48 to 72 hours after
it was started, then by the date the last review set. Pure functions of the times given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

REVIEW_OPENS = timedelta(hours=48)
REVIEW_DUE = timedelta(hours=72)


class Decision:
    STOP = "stop"
    IV_TO_ORAL = "iv-to-oral"
    CHANGE = "change"
    CONTINUE = "continue"
    OPAT = "opat"

    LABELS = {
        STOP: "Stop",
        IV_TO_ORAL: "Switch from IV to oral",
        CHANGE: "Change the antimicrobial",
        CONTINUE: "Continue, and review again",
        OPAT: "Outpatient parenteral antimicrobial therapy (OPAT)",
    }
    # The decisions that end this prescription: the prescriber writes the next one if there is one.
    ENDS = frozenset({STOP, IV_TO_ORAL, CHANGE})
    # The decisions that keep it, and so need the date of the next review.
    NEEDS_NEXT_REVIEW = frozenset({CONTINUE, OPAT})


@dataclass(frozen=True)
class ReviewState:
    due: bool  # a review is needed now
    due_by: datetime | None  # when it must be done by (72 hours, or the review date set)
    message: str


def review_state(
    *, started_at: datetime, last_review_at: datetime | None, next_review_on: date | None, now: datetime
) -> ReviewState:
    """Whether an antimicrobial needs its review now. Before any review: from 48 hours after it was
    started (due by 72). After one: from the start of the next review date the last one set."""
    if last_review_at is None:
        opens, due_by = started_at + REVIEW_OPENS, started_at + REVIEW_DUE
        if now < opens:
            return ReviewState(False, due_by, "")
        hours = int((now - started_at).total_seconds() // 3600)
        late = " It is overdue." if now > due_by else ""
        return ReviewState(
            True, due_by, f"Started {hours} hours ago: review it (stop, switch, change or continue).{late}"
        )
    if next_review_on is None:
        return ReviewState(False, None, "")
    due_by = datetime.combine(next_review_on, datetime.min.time(), tzinfo=now.tzinfo)
    if now < due_by:
        return ReviewState(False, due_by, "")
    return ReviewState(True, due_by, f"The review set for {next_review_on:%d-%b-%Y} is due.")
