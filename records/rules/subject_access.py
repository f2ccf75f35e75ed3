"""Pure rules for subject access requests (UK GDPR Article 15): the one-month response deadline.

Article 12(3) says to respond "without undue delay and in any event within one month of receipt".
The ICO reads this as: from the day the request is received (working day or not) to the
corresponding calendar date in the next month; when the next month has no such date, the last day
of that month (31 January -> 28 or 29 February).

The ICO also allows until the next working day when the deadline falls on a weekend or bank
holiday; we do not apply that, so the deadline shown is never later than the law allows.
"""

from __future__ import annotations

import calendar
from datetime import date


def response_deadline(received_on: date) -> date:
    """The corresponding day next month, clamped to that month's last day."""
    year, month = (
        (received_on.year + 1, 1) if received_on.month == 12 else (received_on.year, received_on.month + 1)
    )
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(received_on.day, last_day))


def days_left(deadline: date, today: date) -> int:
    """Whole days until the deadline: 0 on the day itself, negative once overdue."""
    return (deadline - today).days


def is_overdue(deadline: date, today: date) -> bool:
    return days_left(deadline, today) < 0
