"""Terminology: SCTID checks, the shipped subset, and imports of release-format files."""

import pytest

from epr.terminology import rules, selectors, services
from epr.terminology.models import CodeSystem, Concept


@pytest.mark.parametrize("code", ["138875005", "22298006", "404684003", "1104051000000101", "716186003"])
def test_valid_sctids(code):
    assert rules.is_valid_concept_id(code)


@pytest.mark.parametrize("code", ["22298007", "0123456", "12345", "22298016"])
def test_invalid_sctids(code):
    assert not rules.is_valid_concept_id(code)


def test_every_shipped_snomed_code_passes_the_verhoeff_check(db):
    codes = Concept.objects.filter(system=CodeSystem.SNOMED).values_list("code", flat=True)
    assert len(codes) > 70
    assert all(rules.is_valid_concept_id(c) for c in codes)


def test_picker_search_is_accent_and_case_insensitive_within_a_subset(db):
    found = [c.code for c in selectors.concept_search(text="PENIC", subset="allergen")]
    assert found == ["764146007", "373270004"]
    assert not selectors.concept_search(text="penicillin", subset="problem")


def test_icd10_map(db):
    assert selectors.icd10_for_snomed("44054006").code == "E11.9"
    assert selectors.icd10_for_snomed("764146007") is None


def test_import_release_files(db, tmp_path):
    descriptions = tmp_path / "sct2_Description_Snapshot-en_GB.txt"
    descriptions.write_text(
        "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId\n"
        "1\t20250101\t1\t900000000000207008\t271807003\ten\t900000000000003001\t"
        "Eruption of skin (disorder)\tx\n"
        "2\t20250101\t1\t900000000000207008\t271807003\ten\t900000000000013009\tRash\tx\n"
        "3\t20250101\t0\t900000000000207008\t999999003\ten\t900000000000003001\tRetired (disorder)\tx\n"
    )
    assert services.import_snomed_descriptions(descriptions) == 1
    assert selectors.concept(CodeSystem.SNOMED, "271807003").display == "Eruption of skin"

    language = tmp_path / "der2_cRefset_LanguageSnapshot-en_GB.txt"
    language.write_text(
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId\n"
        "a\t20250101\t1\tm\t999001261000000100\t2\t900000000000548007\n"
    )
    services.import_snomed_descriptions(descriptions, language_refset=language)
    assert selectors.concept(CodeSystem.SNOMED, "271807003").display == "Rash"

    icd = tmp_path / "icd10.tsv"
    icd.write_text("CODE\tALT_CODE\tDESCRIPTION\nR21\tR21\tRash and other nonspecific skin eruption\n")
    assert services.import_icd10(icd) == 1

    mapping = tmp_path / "der2_iisssciRefset_ExtendedMapSnapshot.txt"
    mapping.write_text(
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tmapGroup\tmapPriority\tmapRule\t"
        "mapAdvice\tmapTarget\tcorrelationId\tmapCategoryId\n"
        "m\t20250101\t1\tx\t999002271000000101\t271807003\t1\t1\tTRUE\tALWAYS R21\tR21\tc\tk\n"
    )
    assert services.import_snomed_icd10_map(mapping) == 1
    assert selectors.icd10_for_snomed("271807003").code == "R21"


@pytest.mark.parametrize(
    ("typed", "subset", "code"),
    [
        ("COPD", "problem", "13645005"),
        ("copd", "problem", "13645005"),
        ("UTI", "problem", "68566005"),
        ("water infection", "problem", "68566005"),
        ("MI", "problem", "22298006"),
        ("heart attack", "problem", "22298006"),
        ("AF", "problem", "49436004"),
        ("DVT", "problem", "128053003"),
        ("PE", "problem", "59282003"),
        ("CKD", "problem", "709044004"),
        ("T2DM", "problem", "44054006"),
        ("LRTI", "problem", "50417007"),
        ("CAP", "problem", "385093006"),
        ("AKI", "problem", "14669001"),
        ("GORD", "problem", "235595009"),
        ("stroke", "problem", "230690007"),
        ("co-amoxiclav", "allergen", "96067005"),
        ("co-amox", "allergen", "96067005"),
        ("NSAID", "allergen", "16403005"),
        ("lignocaine", "allergen", "387362001"),
    ],
)
def test_each_synonym_or_abbreviation_finds_its_concept_first(db, typed, subset, code):
    found = [c.code for c in selectors.concept_search(text=typed, subset=subset)]
    assert found and found[0] == code, found


def test_exact_match_then_prefix_then_contains(db):
    # "MI" is a term of myocardial infarction; "Migraine" starts with it; "Anemia" only holds it.
    found = [c.display for c in selectors.concept_search(text="mi", subset="problem")]
    assert found[:2] == ["Myocardial infarction", "Migraine"]
    assert found.index("Anemia") > found.index("Migraine")
    # A prefix of the display beats a word inside another concept's term.
    assert [c.display for c in selectors.concept_search(text="amox", subset="allergen")] == [
        "Amoxicillin",
        "Amoxicillin and clavulanic acid",
    ]
    assert selectors.concept_search(text="pneum", subset="problem")[0].code == "233604007"


def test_picker_options_name_the_synonym_that_matched(db):
    (copd,) = selectors.concept_matches(text="COPD", subset="problem")
    assert (copd.display, copd.synonym) == (
        "Chronic obstructive lung disease",
        "COPD - Chronic obstructive pulmonary disease",
    )
    (penicillin, _) = selectors.concept_matches(text="penic", subset="allergen")
    assert penicillin.synonym == ""  # the display itself matched
    assert selectors.concept_matches(text="c", subset="problem") == []  # too short to search


def test_search_text_cannot_reach_into_the_term_separator(db):
    assert not selectors.concept_search(text="|", subset="problem")
    assert not selectors.concept_search(text="   ", subset="problem")


def test_every_shipped_synonym_belongs_to_a_shipped_concept(db):
    with (services.DATA / "snomed_synonym_subset.tsv").open(encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]
    assert len(rows) > 80
    assert {origin for _, _, origin in rows} == {"snomed", "local"}
    codes = set(Concept.objects.filter(system=CodeSystem.SNOMED).values_list("code", flat=True))
    assert {code for code, _, _ in rows} <= codes
    copd = selectors.concept(CodeSystem.SNOMED, "13645005")
    assert "COPD - Chronic obstructive pulmonary disease" in copd.synonyms
    assert "|copd|" in copd.search_key


def test_abbreviation_synonyms_are_searched_by_each_half():
    assert rules.term_keys("Atrial fibrillation", ["AF - Atrial fibrillation"]) == [
        "atrial fibrillation",
        "af - atrial fibrillation",
        "af",
    ]
    # Only a capitalised abbreviation before " - " is split off.
    assert rules.term_keys("Hip - left", []) == ["hip - left"]


def test_import_keeps_the_release_synonyms(db, tmp_path):
    descriptions = tmp_path / "sct2_Description_Snapshot-en_GB.txt"
    descriptions.write_text(
        "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId\n"
        "1\t20250101\t1\tm\t22298006\ten\t900000000000003001\tMyocardial infarction (disorder)\tx\n"
        "2\t20250101\t1\tm\t22298006\ten\t900000000000013009\tMyocardial infarction\tx\n"
        "3\t20250101\t1\tm\t22298006\ten\t900000000000013009\tHeart attack\tx\n"
        "4\t20250101\t1\tm\t22298006\ten\t900000000000013009\tMI - Myocardial infarction\tx\n"
        "5\t20250101\t0\tm\t22298006\ten\t900000000000013009\tRetired synonym\tx\n"
    )
    language = tmp_path / "der2_cRefset_LanguageSnapshot-en_GB.txt"
    language.write_text(
        "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId\n"
        "a\t20250101\t1\tm\t999001261000000100\t2\t900000000000548007\n"
        "b\t20250101\t1\tm\t999001261000000100\t3\t900000000000549004\n"
        "c\t20250101\t1\tm\t999001261000000100\t4\t900000000000549004\n"
    )
    services.import_snomed_descriptions(descriptions, language_refset=language)
    mi = selectors.concept(CodeSystem.SNOMED, "22298006")
    assert mi.display == "Myocardial infarction"
    assert mi.synonyms == ["Heart attack", "MI - Myocardial infarction"]
    assert mi.subsets == ["problem"]  # the picker subset survives the import
    assert selectors.concept_search(text="heart attack", subset="problem")[0].code == "22298006"


def test_the_synonym_migration_keeps_an_imported_release(db):
    # As migration 0004 finds a database where a trust loaded its release before synonyms were stored.
    Concept.objects.filter(code="13645005").update(
        display="Chronic obstructive pulmonary disease",
        synonyms=["Chronic obstructive lung disease"],
        search_key="chronic obstructive pulmonary disease",
    )
    Concept.objects.create(system=CodeSystem.SNOMED, code="271807003", display="Rash", search_key="rash")
    Concept.objects.filter(code="385093006").delete()

    services.merge_shipped_subset()

    copd = selectors.concept(CodeSystem.SNOMED, "13645005")
    assert copd.display == "Chronic obstructive pulmonary disease"  # the release's preferred term
    assert copd.synonyms[0] == "Chronic obstructive lung disease"
    assert "COPD - Chronic obstructive pulmonary disease" in copd.synonyms
    assert copd.subsets == ["problem"]
    assert selectors.concept(CodeSystem.SNOMED, "271807003").search_key == "|rash|"
    assert selectors.concept(CodeSystem.SNOMED, "385093006").display == "Community acquired pneumonia"
    assert selectors.concept_search(text="rash")[0].code == "271807003"
    assert selectors.concept_search(text="COPD", subset="problem")[0].code == "13645005"
