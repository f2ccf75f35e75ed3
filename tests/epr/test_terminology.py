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
