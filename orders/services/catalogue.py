"""Loading the order catalogue shipped with the app (orders/data/*.tsv): tests, their questions and
the order sets. Matched by code, so loading again updates in place and keeps what an administrator
added in admin; a test or question the data no longer lists is left as it is (deactivate it in
admin: past orders point at it). Every row is checked first and the whole load refused, with the
file and line, if one is wrong: a misspelt SNOMED CT or LOINC code fails its check digit."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from epr.accounts.roles import Role
from epr.terminology.rules import is_valid_concept_id
from orders.models import (
    AnswerType,
    Contrast,
    Department,
    OrderableTest,
    OrderSet,
    OrderSetItem,
    QuestionApplies,
    TestQuestion,
)
from orders.rules.checks import GRADE_RANK

DATA = Path(__file__).resolve().parent.parent / "data"


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Loaded:
    tests: int
    questions: int
    order_sets: int


def loinc_valid(code: str) -> bool:
    """LOINC's mod-10 check digit (the digit after the hyphen)."""
    base, _, check = code.partition("-")
    if not (base.isdigit() and check.isdigit() and len(check) == 1):
        return False
    total = 0
    for position, char in enumerate(reversed(base)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return (10 - total % 10) % 10 == int(check)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8") as handle:
        lines = [
            (n, line) for n, line in enumerate(handle, start=1) if line.strip() and not line.startswith("#")
        ]
    reader = csv.DictReader((line for _, line in lines), delimiter="\t", quoting=csv.QUOTE_NONE)
    for (number, _), row in zip(lines[1:], reader, strict=True):
        yield number, {k: (v or "").strip() for k, v in row.items()}


def _test(where: str, row: dict[str, str]) -> dict[str, object]:
    problems = []
    if row["department"] not in Department.values:
        problems.append(f"department {row['department']!r} is not one of {', '.join(Department.values)}")
    if not is_valid_concept_id(row["snomed"]):
        problems.append(f"SNOMED CT code {row['snomed']!r} fails its check digit")
    if row["loinc"] and not loinc_valid(row["loinc"]):
        problems.append(f"LOINC code {row['loinc']!r} fails its check digit")
    if row["contrast"] not in Contrast.values:
        problems.append(f"contrast {row['contrast']!r} is not iodinated or gadolinium")
    roles = [r.strip() for r in row["roles"].split(",") if r.strip()]
    if not roles or any(r not in Role.values for r in roles):
        problems.append(f"roles {row['roles']!r} are not all known roles")
    if row["min_grade"] and row["min_grade"] not in GRADE_RANK:
        problems.append(f"grade {row['min_grade']!r} is not one of {', '.join(GRADE_RANK)}")
    if row["retest_hours"] and not row["retest_hours"].isdigit():
        problems.append("the re-test interval is not a whole number of hours")
    if problems:
        raise CatalogueError(f"{where} ({row.get('code', '?')}): {'; '.join(problems)}")
    return {
        "name": row["name"],
        "department": row["department"],
        "snomed_code": row["snomed"],
        "loinc_code": row["loinc"],
        "synonyms": row["synonyms"],
        "specimen_type": row["specimen"],
        "specimen_snomed": row["specimen_snomed"],
        "container": row["container"],
        "modality": row["modality"],
        "body_site": row["body_site"],
        "contrast": row["contrast"],
        "ionising": row["ionising"] == "y",
        "retest_interval_hours": int(row["retest_hours"]) if row["retest_hours"] else None,
        "ordering_roles": roles,
        "min_referrer_grade": row["min_grade"],
    }


def _question(where: str, row: dict[str, str]) -> dict[str, object]:
    choices = [c.strip() for c in row["choices"].split("|") if c.strip()]
    if row["type"] not in AnswerType.values:
        raise CatalogueError(
            f"{where}: answer type {row['type']!r} is not one of {', '.join(AnswerType.values)}"
        )
    if row["type"] == AnswerType.CHOICE and len(choices) < 2:
        raise CatalogueError(f"{where}: a choice question needs two choices or more")
    if row["applies"] not in QuestionApplies.values:
        raise CatalogueError(f"{where}: applies {row['applies']!r} is not always or childbearing")
    return {
        "text": row["text"],
        "answer_type": row["type"],
        "choices": "\n".join(choices),
        "required": row["required"] == "y",
        "applies": row["applies"],
    }


@transaction.atomic
def catalogue_load(data: Path = DATA) -> Loaded:
    tests = {row["code"]: _test(f"tests.tsv line {n}", row) for n, row in _rows(data / "tests.tsv")}
    saved: dict[str, OrderableTest] = {}
    for code, values in tests.items():
        saved[code], _ = OrderableTest.objects.update_or_create(
            code=code, defaults={**values, "active": True}
        )
    known = {t.code: t for t in OrderableTest.objects.all()}
    questions = 0
    position: dict[str, int] = {}
    for n, row in _rows(data / "questions.tsv"):
        test = known.get(row["test"])
        if test is None:
            raise CatalogueError(f"questions.tsv line {n}: no test has the code {row['test']!r}")
        position[test.code] = position.get(test.code, 0) + 1
        values = _question(f"questions.tsv line {n}", row)
        TestQuestion.objects.update_or_create(
            test=test, key=row["key"], defaults={**values, "position": position[test.code]}
        )
        questions += 1
    sets = 0
    for n, row in _rows(data / "order_sets.tsv"):
        codes = [c.strip() for c in row["tests"].split(",") if c.strip()]
        missing = [c for c in codes if c not in known]
        if missing:
            raise CatalogueError(f"order_sets.tsv line {n}: no test has the code {', '.join(missing)}")
        order_set, _ = OrderSet.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "specialty": row["specialty"], "active": True}
        )
        order_set.items.all().delete()  # the set's membership is the data's; the tests themselves stay
        OrderSetItem.objects.bulk_create(
            OrderSetItem(order_set=order_set, test=known[c], position=i) for i, c in enumerate(codes)
        )
        sets += 1
    return Loaded(tests=len(tests), questions=questions, order_sets=sets)
