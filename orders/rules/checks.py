"""Checks at the moment of ordering, as pure functions of what the caller read. Two kinds of answer:
a refusal (who may not order this, a required answer missing or malformed), which no reason can
override; and a warning (a duplicate within the re-test interval, an order still outstanding, a
conflict with the record), which the requester may override with a reason that is kept."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

# IR(ME)R: the employer entitles referrers by grade. Ranked so "fy2" admits FY2 and anyone senior.
GRADE_RANK = {
    "fy1": 1,
    "fy2": 2,
    "anp": 2,  # advanced clinical practitioners refer as a doctor of FY2 grade would
    "core": 3,
    "registrar": 4,
    "consultant": 5,
}
YES, NO = "Yes", "No"


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    answer_type: str  # yes-no, choice, text, number
    choices: tuple[str, ...] = ()
    required: bool = True
    applies: str = "always"


@dataclass(frozen=True)
class Warning:
    kind: str
    message: str


@dataclass(frozen=True)
class EarlierOrder:
    number: str
    status_label: str
    requested_at: datetime
    outstanding: bool
    cancelled: bool = False


def grade_allows(grade: str, minimum: str) -> bool:
    if not minimum:
        return True
    return GRADE_RANK.get(grade, 0) >= GRADE_RANK.get(minimum, 99)


def who_may_order(
    *, test_name: str, ordering_roles: Sequence[str], min_grade: str, role: str, grade: str, grade_label: str
) -> str:
    """Why this member of staff may not order the test, or "" when they may."""
    if role not in ordering_roles:
        return f"{test_name} can be requested by: {', '.join(ordering_roles) or 'nobody'}; not by your role."
    if not grade_allows(grade, min_grade):
        return (
            f"{test_name} needs a referrer entitled at grade {min_grade.upper()} or above (IR(ME)R); "
            f"your grade is {grade_label or 'not recorded'}. Ask a senior colleague to request it."
        )
    return ""


def could_be_pregnant(sex: str, born: date | None, today: date) -> bool:
    """Female, or sex not known, aged 12 to 55: who the pregnancy questions are asked of."""
    if sex not in ("female", "unknown", ""):
        return False
    if born is None:
        return True
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return 12 <= age <= 55


def asked(questions: Iterable[Question], *, childbearing: bool) -> list[Question]:
    return [q for q in questions if q.applies == "always" or childbearing]


def answer_errors(questions: Iterable[Question], answers: dict[str, str]) -> dict[str, str]:
    """Each question's problem (missing when required, not a number, not one of the choices)."""
    errors: dict[str, str] = {}
    for q in questions:
        value = (answers.get(q.key) or "").strip()
        if not value:
            if q.required:
                errors[q.key] = f"Answer \u201c{q.text}\u201d: it is needed to order this."
            continue
        if q.answer_type == "number":
            try:
                Decimal(value)
            except InvalidOperation:
                errors[q.key] = f"\u201c{q.text}\u201d needs a number, like 2 or 4.5."
        elif q.answer_type == "yes-no" and value not in (YES, NO):
            errors[q.key] = f"Answer \u201c{q.text}\u201d with yes or no."
        elif q.answer_type == "choice" and value not in q.choices:
            errors[q.key] = f"Choose one of the answers for \u201c{q.text}\u201d."
    return errors


def duplicate_warnings(
    *, test_name: str, retest_hours: int | None, earlier: Iterable[EarlierOrder], now: datetime
) -> list[Warning]:
    """An order of the same test still outstanding, or one placed within the re-test interval."""
    warnings: list[Warning] = []
    earlier = [e for e in earlier if not e.cancelled]
    outstanding = [e for e in earlier if e.outstanding]
    if outstanding:
        first = outstanding[0]
        warnings.append(
            Warning(
                "outstanding",
                f"{test_name} is already requested and not yet resulted: {first.number}, "
                f"{first.status_label.lower()}, requested {_ago(now - first.requested_at)}.",
            )
        )
    if retest_hours:
        window = timedelta(hours=retest_hours)
        recent = [e for e in earlier if not e.outstanding and now - e.requested_at < window]
        if recent:
            warnings.append(
                Warning(
                    "duplicate",
                    f"{test_name} was requested {_ago(now - recent[0].requested_at)} ({recent[0].number}); "
                    f"its minimum re-test interval is {_interval(retest_hours)}.",
                )
            )
    return warnings


CONTRAST_ALLERGY = re.compile(
    r"\b(contrast|iodin\w*|radiocontrast|iohexol|iodixanol|iopamidol|iomeprol|omnipaque|visipaque)\b", re.I
)
GADOLINIUM_ALLERGY = re.compile(r"\b(gadolinium|gado\w+|dotarem|gadovist|contrast)\b", re.I)
MR_UNSAFE_DEVICE = re.compile(
    r"\b(pacemaker|pacing|defibrillator|icd|crt-?d|cochlear implant|neurostimulator|"
    r"implant(ed|able) (cardiac )?device|metal foreign body|intraocular metal)\b",
    re.I,
)
RENAL_CONTRAST_EGFR = Decimal(30)


def conflict_warnings(
    *,
    test_name: str,
    modality: str,
    contrast: str,
    allergies: Iterable[str],
    problems: Iterable[str],
    egfr: Decimal | None,
) -> list[Warning]:
    """The record says this test may harm: contrast allergy, an MR-unsafe device, poor kidneys."""
    warnings: list[Warning] = []
    allergy_pattern = {"iodinated": CONTRAST_ALLERGY, "gadolinium": GADOLINIUM_ALLERGY}.get(contrast)
    if allergy_pattern is not None:
        hits = [a for a in allergies if allergy_pattern.search(a)]
        if hits:
            warnings.append(
                Warning(
                    "contrast-allergy",
                    f"{test_name} uses {contrast} contrast and the record has an allergy to "
                    f"{', '.join(hits)}. Discuss premedication or another test with the radiologist.",
                )
            )
    if modality == "MR":
        devices = [p for p in problems if MR_UNSAFE_DEVICE.search(p)]
        if devices:
            warnings.append(
                Warning(
                    "mri-device",
                    f"{test_name}: the record lists {', '.join(devices)}. Check the device is MR conditional "
                    "with the MRI unit before the scan.",
                )
            )
    if contrast and egfr is not None and egfr < RENAL_CONTRAST_EGFR:
        warnings.append(
            Warning(
                "contrast-renal",
                f"{test_name} uses {contrast} contrast and the latest eGFR is {egfr.normalize():f}: "
                "below 30 the kidneys are at risk. Consider hydration or another test.",
            )
        )
    return warnings


def warning_key(test_code: str, warning: Warning) -> str:
    """Stable across a re-shown form, so a reason typed stays with its warning."""
    return f"{test_code}-{warning.kind}".lower()


def _ago(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        return "less than an hour ago"
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return f"{hours // 24} days ago"


def _interval(hours: int) -> str:
    if hours % 24 == 0 and hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} hours"
