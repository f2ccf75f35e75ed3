"""The trust's medicines policy, from settings (each has a default a ward could start with): the window
around a due dose, whether a dose may be given before the pharmacist has verified the prescription,
which controlled drugs need a witness, and the reasons a dose may be recorded as not given."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from prescribing.rules import doses

# dm+d's CONTROL_DRUG_CATEGORY codes, to the schedule a ward knows.
CD_SCHEDULES = {
    "0001": "1",
    "0002": "2",
    "0003": "2",
    "0004": "3",
    "0005": "3",
    "0006": "3",
    "0007": "3",
    "0008": "4",
    "0009": "4",
    "0010": "5",
}

NOT_GIVEN_REASONS = (
    ("refused", "Patient refused"),
    ("nil-by-mouth", "Nil by mouth"),
    ("not-available", "Medicine not available"),
    ("absent", "Patient not on the ward"),
    ("clinical", "Withheld for a clinical reason"),
    ("other", "Other (say why)"),
)


def dose_window() -> doses.Window:
    minutes = getattr(settings, "EPR_DOSE_WINDOW_MINUTES", 60)
    return doses.Window(before=timedelta(minutes=minutes), after=timedelta(minutes=minutes))


def unverified_may_be_given(*, kind: str, first_dose: bool) -> bool:
    """Whether a dose of a prescription the pharmacist has not yet verified may be given (it is then
    flagged for the pharmacist). EPR_UNVERIFIED_DOSES: "all", "first-and-once" (the default: a first
    dose or a once-only dose, so treatment is not delayed) or "none"."""
    rule = getattr(settings, "EPR_UNVERIFIED_DOSES", "first-and-once")
    if rule == "all":
        return True
    if rule == "first-and-once":
        return first_dose or kind == "once"
    return False


def cd_schedule(category_code: str) -> str:
    return CD_SCHEDULES.get(category_code, "")


def needs_witness(category_code: str) -> bool:
    """Schedule 2 and 3 controlled drugs by default (EPR_CD_WITNESS_SCHEDULES)."""
    return cd_schedule(category_code) in set(getattr(settings, "EPR_CD_WITNESS_SCHEDULES", ("2", "3")))


def not_given_reasons() -> tuple[tuple[str, str], ...]:
    return tuple(getattr(settings, "EPR_NOT_GIVEN_REASONS", NOT_GIVEN_REASONS))
