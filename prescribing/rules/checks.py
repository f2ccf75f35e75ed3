"""Safety checks at the moment of prescribing, as pure functions of what the caller read: the
medicine's active ingredients, the patient's recorded allergies, the active prescriptions and the
dose. Each finding says what was found and why, for the prescriber to act on or override with a
reason. Drug classes are a curated table shipped here (ingredient names as dm+d's VTMs spell them).

Allergies match on words: a recorded "Penicillin" allergy names the penicillins class, "Amoxicillin"
names one member (and so its class), "Co-amoxiclav" names its ingredients. An allergy this module
cannot place in a class still matches an ingredient of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Severity(StrEnum):
    HIGH = "high"  # stop and think: the override needs a reason
    MODERATE = "moderate"


class Kind(StrEnum):
    ALLERGY = "allergy"
    CROSS_SENSITIVITY = "cross-sensitivity"
    DUPLICATE = "duplicate"
    INTERACTION = "interaction"
    RENAL = "renal"
    MAXIMUM_DOSE = "maximum-dose"


@dataclass(frozen=True)
class Finding:
    kind: Kind
    severity: Severity
    message: str


# Beta-lactams, the classes the cross-sensitivity check must know (issue 10: penicillins and
# cephalosporins at least); carbapenems and monobactams for completeness of the beta-lactam family.
DRUG_CLASSES: dict[str, frozenset[str]] = {
    "penicillin": frozenset(
        {
            "amoxicillin",
            "ampicillin",
            "benzathine benzylpenicillin",
            "benzylpenicillin",
            "flucloxacillin",
            "phenoxymethylpenicillin",
            "piperacillin",
            "pivmecillinam",
            "temocillin",
            "ticarcillin",
        }
    ),
    "cephalosporin": frozenset(
        {
            "cefaclor",
            "cefadroxil",
            "cefalexin",
            "cefazolin",
            "cefepime",
            "cefiderocol",
            "cefixime",
            "cefotaxime",
            "cefoxitin",
            "cefradine",
            "ceftaroline fosamil",
            "ceftazidime",
            "ceftobiprole",
            "ceftolozane",
            "ceftriaxone",
            "cefuroxime",
        }
    ),
    "carbapenem": frozenset({"ertapenem", "imipenem", "meropenem"}),
    "monobactam": frozenset({"aztreonam"}),
}
# Combination products as prescribers write them, to their ingredients.
COMBINATIONS: dict[str, frozenset[str]] = {
    "co-amoxiclav": frozenset({"amoxicillin", "clavulanic acid"}),
    "tazocin": frozenset({"piperacillin", "tazobactam"}),
    "piperacillin with tazobactam": frozenset({"piperacillin", "tazobactam"}),
}
# An allergy to the first class means a possible reaction to the second (never the other way round
# unless listed): the penicillin-cephalosporin and penicillin-carbapenem cross-sensitivities.
CROSS_SENSITIVE: frozenset[tuple[str, str]] = frozenset(
    {("penicillin", "cephalosporin"), ("penicillin", "carbapenem"), ("cephalosporin", "penicillin")}
)
_CLASS_WORDS = {name: name for name in DRUG_CLASSES} | {f"{name}s": name for name in DRUG_CLASSES}


# Salt and ester words dm+d puts after the moiety ("Morphine sulfate", "Warfarin sodium"): an allergy
# recorded to "Morphine" must still find morphine sulfate, and the other way round.
SALT_WORDS = frozenset(
    [
        "sulfate",
        "sulphate",
        "hydrochloride",
        "dihydrochloride",
        "hydrobromide",
        "sodium",
        "disodium",
        "potassium",
        "calcium",
        "magnesium",
        "phosphate",
        "acetate",
        "tartrate",
        "bitartrate",
        "maleate",
        "mesilate",
        "besilate",
        "fumarate",
        "hemifumarate",
        "succinate",
        "citrate",
        "bromide",
        "nitrate",
        "lactate",
        "gluconate",
        "hyclate",
        "trihydrate",
        "dihydrate",
        "monohydrate",
        "anhydrous",
        "dipropionate",
        "propionate",
        "valerate",
        "butyrate",
        "furoate",
        "xinafoate",
        "fosamil",
        "medoxomil",
        "cilexetil",
        "embonate",
        "decanoate",
        "enantate",
        "palmitate",
        "tosilate",
        "mononitrate",
    ]
)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def base_name(name: str) -> str:
    """The moiety without trailing salt words: "morphine sulfate" -> "morphine"; "sodium chloride"
    and one-word names stay as they are."""
    words = _normal(name).split(" ")
    while len(words) > 1 and words[-1] in SALT_WORDS:
        words.pop()
    return " ".join(words)


def ingredients_of(names: Iterable[str]) -> frozenset[str]:
    """Ingredient names, with any combination product opened into its ingredients, each also by its
    moiety without salt words."""
    found: set[str] = set()
    for name in map(_normal, names):
        for part in COMBINATIONS.get(name, frozenset({name})):
            found |= {part, base_name(part)}
    return frozenset(found)


def classes_of(
    ingredients: Iterable[str], classes: Mapping[str, frozenset[str]] | None = None
) -> frozenset[str]:
    names = ingredients_of(ingredients)
    return frozenset(cls for cls, members in (classes or DRUG_CLASSES).items() if names & members)


def _allergy_targets(allergy: str) -> tuple[frozenset[str], frozenset[str]]:
    """(ingredients, classes) a recorded allergy names."""
    text = _normal(allergy)
    words = set(re.split(r"[^a-z-]+", text))
    classes = {cls for word, cls in _CLASS_WORDS.items() if word in words}
    ingredients = set(ingredients_of([text])) if text in COMBINATIONS else set()
    for members in DRUG_CLASSES.values():
        ingredients |= {m for m in members if m in text}
    if not ingredients and not classes:
        ingredients = {text, base_name(text)}  # a substance the table does not know: match it by name
    return frozenset(ingredients), frozenset(classes) | classes_of(ingredients)


def allergy_findings(medicine: str, ingredients: Sequence[str], allergies: Sequence[str]) -> list[Finding]:
    """Findings for a medicine with these active ingredients against the recorded allergies (their
    substance names as recorded). One finding per allergy, the most serious it raises."""
    contains = ingredients_of(ingredients)
    drug_classes = classes_of(contains)
    findings: list[Finding] = []
    for allergy in allergies:
        named, allergy_classes = _allergy_targets(allergy)
        same = sorted(contains & named)
        shared = sorted(drug_classes & allergy_classes)
        crossed = sorted(
            (a, d) for a in allergy_classes for d in drug_classes if (a, d) in CROSS_SENSITIVE and a != d
        )
        if same:
            findings.append(
                Finding(
                    Kind.ALLERGY,
                    Severity.HIGH,
                    f"Allergy recorded to {allergy}: {medicine} contains {', '.join(same)}.",
                )
            )
        elif shared:
            findings.append(
                Finding(
                    Kind.ALLERGY,
                    Severity.HIGH,
                    f"Allergy recorded to {allergy} (a {shared[0]}): {medicine} is also a {shared[0]}.",
                )
            )
        elif crossed:
            allergy_class, drug_class = crossed[0]
            findings.append(
                Finding(
                    Kind.CROSS_SENSITIVITY,
                    Severity.MODERATE,
                    f"Allergy recorded to {allergy} (a {allergy_class}): {medicine} is a {drug_class}, and "
                    f"people allergic to a {allergy_class} may react to a {drug_class}. Check the reaction "
                    "recorded before prescribing.",
                )
            )
    return findings


@dataclass(frozen=True)
class Active:
    """An active prescription, as the duplicate check sees it."""

    medicine: str
    ingredients: frozenset[str]


def duplicate_findings(
    medicine: str,
    ingredients: Sequence[str],
    active: Sequence[Active],
    therapeutic_classes: Mapping[str, frozenset[str]] | None = None,
) -> list[Finding]:
    """The same ingredient, or another medicine of the same therapeutic class (by default the
    beta-lactam classes), already prescribed and active."""
    contains = ingredients_of(ingredients)
    table = therapeutic_classes or DRUG_CLASSES
    classes = classes_of(contains, table)
    findings: list[Finding] = []
    for other in active:
        theirs = ingredients_of(other.ingredients)
        same = sorted(contains & theirs)
        shared = sorted(classes & classes_of(theirs, table))
        if same:
            findings.append(
                Finding(
                    Kind.DUPLICATE,
                    Severity.HIGH,
                    f"{other.medicine} is already prescribed and also contains {', '.join(same)}.",
                )
            )
        elif shared:
            findings.append(
                Finding(
                    Kind.DUPLICATE,
                    Severity.MODERATE,
                    f"{other.medicine} is already prescribed: two {shared[0]}s at once.",
                )
            )
    return findings


def maximum_dose_findings(
    *,
    dose: Decimal,
    doses_per_day: int,
    unit: str,
    max_single: Decimal | None,
    max_daily: Decimal | None,
) -> list[Finding]:
    """A single dose or a day's total above its maximum (a dose exactly at the maximum is allowed)."""
    findings = []
    if max_single is not None and dose > max_single:
        findings.append(
            Finding(
                Kind.MAXIMUM_DOSE,
                Severity.HIGH,
                f"{_amount(dose)} {unit} is above the maximum single dose of {_amount(max_single)} {unit}.",
            )
        )
    daily = dose * doses_per_day
    if max_daily is not None and daily > max_daily:
        findings.append(
            Finding(
                Kind.MAXIMUM_DOSE,
                Severity.HIGH,
                f"{_amount(daily)} {unit} a day is above the maximum daily dose of "
                f"{_amount(max_daily)} {unit}.",
            )
        )
    return findings


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")  # 1000, not 1E+3


@dataclass(frozen=True)
class Interaction:
    """One row of the interaction table: each side an ingredient ("warfarin") or a class
    ("class:nsaid"), its severity ("severe" or "moderate") and what the prescriber should do."""

    a: str
    b: str
    severity: str
    message: str


def _side_matches(side: str, ingredients: frozenset[str], classes: Mapping[str, frozenset[str]]) -> bool:
    if side.startswith("class:"):
        return bool(ingredients & classes.get(side.removeprefix("class:"), frozenset()))
    return side in ingredients


def interaction_findings(
    medicine: str,
    ingredients: Sequence[str],
    active: Sequence[Active],
    table: Sequence[Interaction],
    classes: Mapping[str, frozenset[str]],
) -> list[Finding]:
    """Each active prescription the medicine interacts with, by the table: one finding per pair of
    medicines, the most severe row that matches."""
    ours = ingredients_of(ingredients)
    findings: list[Finding] = []
    for other in active:
        theirs = ingredients_of(other.ingredients)
        rows = [
            row
            for row in table
            if (_side_matches(row.a, ours, classes) and _side_matches(row.b, theirs, classes))
            or (_side_matches(row.b, ours, classes) and _side_matches(row.a, theirs, classes))
        ]
        if not rows:
            continue
        worst = min(rows, key=lambda row: row.severity != "severe")
        findings.append(
            Finding(
                Kind.INTERACTION,
                Severity.HIGH if worst.severity == "severe" else Severity.MODERATE,
                f"Interaction ({worst.severity}) with {other.medicine}: {worst.message}",
            )
        )
    return findings


@dataclass(frozen=True)
class RenalRule:
    """One row of the renal table: an ingredient ("metformin") or a class ("class:nsaid"), the
    kidney function below which it applies, its severity and the advice."""

    side: str
    below: Decimal
    severity: str
    advice: str


def renal_findings(
    medicine: str,
    ingredients: Sequence[str],
    *,
    kidney_function: Decimal,
    measure: str,
    table: Sequence[RenalRule],
    classes: Mapping[str, frozenset[str]],
) -> list[Finding]:
    """The renal warning for a medicine at this eGFR or creatinine clearance: for each ingredient,
    the row with the lowest threshold the value is below (the most specific advice). A value exactly
    at a threshold does not trigger it."""
    ours = ingredients_of(ingredients)
    matching = [
        row for row in table if kidney_function < row.below and _side_matches(row.side, ours, classes)
    ]
    by_side: dict[str, RenalRule] = {}
    for row in matching:
        if row.side not in by_side or row.below < by_side[row.side].below:
            by_side[row.side] = row
    return [
        Finding(
            Kind.RENAL,
            Severity.HIGH if row.severity == "severe" else Severity.MODERATE,
            f"Kidney function: {measure} was {kidney_function.normalize():f}. {medicine}: {row.advice}",
        )
        for row in by_side.values()
    ]
