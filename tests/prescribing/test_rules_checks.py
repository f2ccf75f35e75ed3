"""Safety checks at prescribing (prescribing/rules/checks.py): allergies and beta-lactam
cross-sensitivity, duplicates, maximum doses, each at its boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prescribing.rules import checks
from prescribing.rules.checks import (
    Active,
    Kind,
    Severity,
    allergy_findings,
    classes_of,
    duplicate_findings,
    maximum_dose_findings,
)


@pytest.mark.parametrize(
    "allergy", ["Penicillin", "penicillins", "PENICILLIN V", "Amoxicillin", "Co-amoxiclav"]
)
def test_a_penicillin_allergy_stops_another_penicillin(allergy):
    (finding,) = allergy_findings("Flucloxacillin 500mg capsules", ["Flucloxacillin"], [allergy])
    assert (finding.kind, finding.severity) == (Kind.ALLERGY, Severity.HIGH)
    assert "is also a penicillin" in finding.message


def test_the_same_ingredient_is_named():
    (finding,) = allergy_findings(
        "Co-amoxiclav 500mg/125mg tablets", ["Amoxicillin", "Clavulanic acid"], ["Amoxicillin"]
    )
    assert (
        finding.message
        == "Allergy recorded to Amoxicillin: Co-amoxiclav 500mg/125mg tablets contains amoxicillin."
    )


def test_a_penicillin_allergy_warns_of_a_cephalosporin_and_a_carbapenem():
    for medicine, ingredient, drug_class in (
        ("Cefalexin 500mg capsules", "Cefalexin", "cephalosporin"),
        ("Meropenem 1g", "Meropenem", "carbapenem"),
    ):
        (finding,) = allergy_findings(medicine, [ingredient], ["Penicillin"])
        assert (finding.kind, finding.severity) == (Kind.CROSS_SENSITIVITY, Severity.MODERATE)
        assert f"is a {drug_class}" in finding.message


def test_no_beta_lactam_no_finding():
    assert allergy_findings("Clarithromycin 500mg tablets", ["Clarithromycin"], ["Penicillin"]) == []
    assert allergy_findings("Aztreonam 1g", ["Aztreonam"], ["Penicillin"]) == []  # not listed as crossing
    assert allergy_findings("Amoxicillin 500mg capsules", ["Amoxicillin"], []) == []


def test_an_allergy_the_table_does_not_know_still_matches_by_name():
    (finding,) = allergy_findings("Latex-free gloves", ["Chlorhexidine"], ["chlorhexidine"])
    assert finding.kind == Kind.ALLERGY
    assert allergy_findings("Paracetamol 500mg tablets", ["Paracetamol"], ["Latex"]) == []


def test_one_finding_per_allergy():
    findings = allergy_findings(
        "Amoxicillin 500mg capsules", ["Amoxicillin"], ["Amoxicillin", "Penicillin", "Latex"]
    )
    assert len(findings) == 2 and all(f.severity == Severity.HIGH for f in findings)


def test_classes():
    assert classes_of(["Co-amoxiclav"]) == {"penicillin"}
    assert classes_of(["Piperacillin", "Tazobactam"]) == {"penicillin"}
    assert classes_of(["Paracetamol"]) == frozenset()


def test_duplicates_the_same_ingredient_and_the_same_class():
    active = [
        Active("Co-amoxiclav 625mg tablets", frozenset({"amoxicillin", "clavulanic acid"})),
        Active("Paracetamol 1g", frozenset({"paracetamol"})),
    ]
    (same,) = duplicate_findings("Amoxicillin 500mg capsules", ["Amoxicillin"], active)
    assert (same.severity, same.message) == (
        Severity.HIGH,
        "Co-amoxiclav 625mg tablets is already prescribed and also contains amoxicillin.",
    )
    (cls,) = duplicate_findings("Flucloxacillin 500mg capsules", ["Flucloxacillin"], active)
    assert cls.severity == Severity.MODERATE and "two penicillins" in cls.message
    assert duplicate_findings("Ondansetron 4mg", ["Ondansetron"], active) == []


@pytest.mark.parametrize(
    ("dose", "per_day", "count"),
    [
        ("1000", 4, 0),  # at both maximums: allowed
        ("1000.001", 1, 1),  # just above the single maximum
        ("1000", 5, 1),  # the day's total above
        ("1500", 4, 2),
    ],
)
def test_maximum_doses_at_their_boundaries(dose, per_day, count):
    findings = maximum_dose_findings(
        dose=Decimal(dose),
        doses_per_day=per_day,
        unit="mg",
        max_single=Decimal("1000"),
        max_daily=Decimal("4000"),
    )
    assert len(findings) == count and all(f.kind == Kind.MAXIMUM_DOSE for f in findings)


def test_maximum_dose_messages_read_as_amounts():
    (single, daily) = maximum_dose_findings(
        dose=Decimal("1.5E+3"),
        doses_per_day=4,
        unit="mg",
        max_single=Decimal("1000"),
        max_daily=Decimal("4000"),
    )
    assert single.message == "1500 mg is above the maximum single dose of 1000 mg."
    assert daily.message == "6000 mg a day is above the maximum daily dose of 4000 mg."
    assert (
        maximum_dose_findings(dose=Decimal(5), doses_per_day=9, unit="mg", max_single=None, max_daily=None)
        == []
    )


INTERACTIONS = (
    checks.Interaction(
        "warfarin", "clarithromycin", "severe", "INR rises: avoid or check the INR in 3 days."
    ),
    checks.Interaction("class:nsaid", "class:anticoagulant", "moderate", "Bleeding risk."),
    checks.Interaction("class:nsaid", "warfarin", "severe", "Bleeding risk: avoid."),
)
CLASSES = {
    "nsaid": frozenset({"ibuprofen", "naproxen"}),
    "anticoagulant": frozenset({"warfarin", "apixaban"}),
}


def test_an_interaction_is_found_whichever_is_prescribed_first():
    warfarin = [checks.Active("Warfarin 1mg tablets", frozenset({"warfarin"}))]
    clarithromycin = [checks.Active("Clarithromycin 500mg tablets", frozenset({"clarithromycin"}))]
    (one,) = checks.interaction_findings(
        "Clarithromycin 500mg tablets", ["Clarithromycin"], warfarin, INTERACTIONS, CLASSES
    )
    (two,) = checks.interaction_findings(
        "Warfarin 1mg tablets", ["Warfarin"], clarithromycin, INTERACTIONS, CLASSES
    )
    assert one.severity == two.severity == checks.Severity.HIGH
    assert "with Warfarin 1mg tablets" in one.message and "INR" in one.message


def test_an_interaction_by_class_takes_the_most_severe_row():
    warfarin = [checks.Active("Warfarin 1mg tablets", frozenset({"warfarin"}))]
    (found,) = checks.interaction_findings(
        "Ibuprofen 400mg tablets", ["Ibuprofen"], warfarin, INTERACTIONS, CLASSES
    )
    assert found.severity == checks.Severity.HIGH and "(severe)" in found.message
    apixaban = [checks.Active("Apixaban 5mg tablets", frozenset({"apixaban"}))]
    (moderate,) = checks.interaction_findings(
        "Naproxen 500mg tablets", ["Naproxen"], apixaban, INTERACTIONS, CLASSES
    )
    assert moderate.severity == checks.Severity.MODERATE


def test_no_interaction_between_unrelated_medicines():
    others = [checks.Active("Paracetamol 500mg tablets", frozenset({"paracetamol"}))]
    assert (
        checks.interaction_findings("Ibuprofen 400mg tablets", ["Ibuprofen"], others, INTERACTIONS, CLASSES)
        == []
    )


def test_a_therapeutic_class_given_makes_two_of_it_a_duplicate():
    others = [checks.Active("Naproxen 500mg tablets", frozenset({"naproxen"}))]
    assert checks.duplicate_findings("Ibuprofen 400mg tablets", ["Ibuprofen"], others) == []
    (found,) = checks.duplicate_findings("Ibuprofen 400mg tablets", ["Ibuprofen"], others, CLASSES)
    assert found.severity == checks.Severity.MODERATE and "two nsaids" in found.message


@pytest.mark.parametrize(
    ("allergy", "ingredient"),
    [
        ("Morphine", "Morphine sulfate"),
        ("Morphine sulfate", "Morphine"),
        ("Tramadol", "Tramadol hydrochloride"),
    ],
)
def test_an_allergy_finds_the_moiety_whatever_its_salt(allergy, ingredient):
    (found,) = allergy_findings("The medicine", [ingredient], [allergy])
    assert found.kind == Kind.ALLERGY


def test_salt_words_are_not_stripped_from_a_salt_itself():
    assert checks.base_name("Sodium chloride") == "sodium chloride"
    assert checks.base_name("Warfarin sodium") == "warfarin"
    assert (
        allergy_findings("Sodium chloride 0.9% infusion", ["Sodium chloride"], ["Potassium chloride"]) == []
    )


RENAL = (
    checks.RenalRule("metformin", Decimal("30"), "severe", "Avoid."),
    checks.RenalRule("metformin", Decimal("45"), "moderate", "Reduce."),
    checks.RenalRule("class:nsaid", Decimal("30"), "severe", "Avoid NSAIDs."),
)


@pytest.mark.parametrize(
    ("egfr", "expected"),
    [
        ("50", None),
        ("45", None),
        ("44.9", ("moderate", "Reduce.")),
        ("30", ("moderate", "Reduce.")),
        ("29", ("high", "Avoid.")),
    ],
)
def test_renal_warnings_at_each_threshold(egfr, expected):
    found = checks.renal_findings(
        "Metformin 500mg tablets",
        ["Metformin hydrochloride"],
        kidney_function=Decimal(egfr),
        measure="eGFR",
        table=RENAL,
        classes=CLASSES,
    )
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.severity, finding.message.rsplit(": ", 1)[1]) == expected


def test_a_renal_rule_by_class():
    (found,) = checks.renal_findings(
        "Naproxen 500mg tablets",
        ["Naproxen"],
        kidney_function=Decimal("20"),
        measure="eGFR",
        table=RENAL,
        classes=CLASSES,
    )
    assert "Avoid NSAIDs." in found.message and found.kind == checks.Kind.RENAL
