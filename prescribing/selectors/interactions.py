"""The curated interaction table and drug classes shipped with the app (prescribing/data), read once
per process. A trust changes them by editing the files (they are reviewed like code)."""

from __future__ import annotations

import csv
from decimal import Decimal
from functools import cache
from pathlib import Path

from prescribing.rules.checks import DRUG_CLASSES, Interaction, RenalRule

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def drug_classes() -> dict[str, frozenset[str]]:
    """The shipped classes, with the beta-lactam classes the allergy check knows."""
    classes = {
        row["class"].strip().lower(): frozenset(
            m.strip().lower() for m in row["members"].split(",") if m.strip()
        )
        for row in _rows(DATA / "drug_classes.tsv")
    }
    for name, members in DRUG_CLASSES.items():
        classes[name] = classes.get(name, frozenset()) | members
    return classes


@cache
def interaction_table() -> tuple[Interaction, ...]:
    return tuple(
        Interaction(
            row["a"].strip().lower(),
            row["b"].strip().lower(),
            row["severity"].strip(),
            row["message"].strip(),
        )
        for row in _rows(DATA / "interactions.tsv")
    )


# Classes where two at once is a duplication to question (not, say, two QT-prolonging medicines,
# which the interaction table covers).
THERAPEUTIC_DUPLICATES = frozenset(
    {
        "penicillin",
        "cephalosporin",
        "carbapenem",
        "monobactam",
        "nsaid",
        "proton pump inhibitor",
        "ace inhibitor",
        "angiotensin ii receptor blocker",
        "statin",
        "ssri",
        "benzodiazepine",
        "opioid",
        "low molecular weight heparin",
        "anticoagulant",
        "beta-blocker",
        "loop diuretic",
        "macrolide",
        "quinolone",
        "antipsychotic",
        "sulfonylurea",
    }
)


@cache
def therapeutic_classes() -> dict[str, frozenset[str]]:
    return {name: members for name, members in drug_classes().items() if name in THERAPEUTIC_DUPLICATES}


@cache
def renal_table() -> tuple[RenalRule, ...]:
    return tuple(
        RenalRule(
            row["ingredient"].strip().lower(),
            Decimal(row["below"]),
            row["severity"].strip(),
            row["advice"].strip(),
        )
        for row in _rows(DATA / "renal.tsv")
    )
