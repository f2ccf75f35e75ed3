"""The document-section registry: what records prefills into a discharge summary or clinic letter,
and the refusals that keep the registry sound for the apps that add sections."""

from __future__ import annotations

from datetime import date

import pytest

from records import services
from records.registries import documents
from records.registries.documents import (
    CLINIC_LETTER,
    DISCHARGE_SUMMARY,
    DocumentContext,
    DocumentSection,
    SectionDraft,
)


def context(patient, author):
    return DocumentContext(patient=patient, encounter=None, author=author)


def test_records_prefills_allergies_and_diagnoses_in_both_documents():
    for document in (DISCHARGE_SUMMARY, CLINIC_LETTER):
        sections = documents.document_sections(document)
        records_own = [
            (s.key, s.heading, s.mandatory) for s in sections if s.key in ("allergies", "diagnoses")
        ]
        assert records_own == [
            ("allergies", "Allergies and adverse reactions", True),
            ("diagnoses", "Diagnoses", True),
        ]


def test_nothing_recorded_says_so_in_words(patient, doctor):
    drafts = documents.prefill(DISCHARGE_SUMMARY, context(patient, doctor))
    assert drafts["allergies"] == SectionDraft(
        ("No allergies recorded: allergy status not known.",), recorded=False
    )
    assert drafts["diagnoses"] == SectionDraft(("No diagnoses recorded.",), recorded=False)


def test_no_known_allergies_is_a_statement_not_an_empty_section(patient, nurse, doctor):
    services.allergy_record_none_known(recorded_by=nurse, patient=patient)
    drafts = documents.prefill(CLINIC_LETTER, context(patient, doctor))
    assert drafts["allergies"].text == "No known allergies." and drafts["allergies"].recorded


def test_current_entries_are_prefilled_and_entries_in_error_are_not(patient, nurse, doctor):
    services.allergy_record(
        recorded_by=nurse, patient=patient, substance_text="Penicillin", reaction="Rash", severity="moderate"
    )
    wrong = services.allergy_record(recorded_by=nurse, patient=patient, substance_text="Latex")
    services.entry_mark_error(marked_by=nurse, entry=wrong, reason="Wrong patient")
    services.problem_record(
        recorded_by=doctor, patient=patient, snomed_code="44054006", onset_date=date(2019, 3, 1)
    )
    drafts = documents.prefill(DISCHARGE_SUMMARY, context(patient, doctor))
    assert drafts["allergies"].lines == ("Penicillin (allergy); reaction: Rash; severity: moderate",)
    assert drafts["diagnoses"].lines == ("Diabetes mellitus type 2 (ICD-10 E11.9), since 01-Mar-2019",)


def _empty(context):
    return SectionDraft(())


def test_another_app_adds_a_section_in_its_place():
    medicines = DocumentSection(
        "medicines-on-discharge",
        "Medications and medical devices",
        frozenset({DISCHARGE_SUMMARY}),
        _empty,
        order=35,
    )
    documents.register_document_section(medicines)
    try:
        keys = [s.key for s in documents.document_sections(DISCHARGE_SUMMARY)]
        assert keys.index("allergies") < keys.index("medicines-on-discharge") < keys.index("diagnoses")
        assert "medicines-on-discharge" not in [s.key for s in documents.document_sections(CLINIC_LETTER)]
        with pytest.raises(ValueError, match="already registered"):
            documents.register_document_section(
                DocumentSection("medicines-on-discharge", "Other", frozenset({DISCHARGE_SUMMARY}), _empty)
            )
    finally:
        documents._sections.pop("medicines-on-discharge")


@pytest.mark.parametrize(
    ("key", "kinds", "message"),
    [
        ("Bad Key", frozenset({DISCHARGE_SUMMARY}), "lower-case"),
        ("ok", frozenset({"referral"}), "documents must be"),
    ],
)
def test_a_section_with_a_bad_key_or_document_is_refused(key, kinds, message):
    with pytest.raises(ValueError, match=message):
        documents.register_document_section(DocumentSection(key, "Heading", kinds, _empty))
    with pytest.raises(LookupError):
        documents.document_sections("referral")
