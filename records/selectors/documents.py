"""What records prefills into a discharge summary or clinic letter: the allergies and the diagnoses,
current entries only (entered-in-error ones are not carried into a letter)."""

from __future__ import annotations

from records.models import (
    ENTERED_IN_ERROR,
    AllergyIntolerance,
    AllergyKind,
    ClinicalStatus,
    Problem,
    ProblemStatus,
)
from records.registries.documents import DocumentContext, SectionDraft


def _allergy_line(allergy: AllergyIntolerance) -> str:
    words = [allergy.substance, f"({allergy.get_kind_display().lower()})"]
    if allergy.reaction:
        words.append(f"reaction: {allergy.reaction}")
    if allergy.severity:
        words.append(f"severity: {allergy.get_severity_display().lower()}")
    return " ".join(words[:2]) + "".join(f"; {w}" for w in words[2:])


def allergies_draft(context: DocumentContext) -> SectionDraft:
    allergies = list(
        AllergyIntolerance.objects.filter(patient=context.patient, clinical_status=ClinicalStatus.ACTIVE)
        .exclude(status=ENTERED_IN_ERROR)
        .order_by("-recorded_at", "-pk")
    )
    if not allergies:
        return SectionDraft(("No allergies recorded: allergy status not known.",), recorded=False)
    if all(a.kind == AllergyKind.NO_KNOWN_ALLERGY for a in allergies):
        return SectionDraft(("No known allergies.",))
    return SectionDraft(tuple(_allergy_line(a) for a in allergies if a.kind != AllergyKind.NO_KNOWN_ALLERGY))


def _problem_line(problem: Problem) -> str:
    line = problem.snomed_display
    if problem.icd10_code:
        line += f" (ICD-10 {problem.icd10_code})"
    if problem.clinical_status != ProblemStatus.ACTIVE:
        line += f": {problem.get_clinical_status_display().lower()}"
    if problem.onset_date:
        line += f", since {problem.onset_date:%d-%b-%Y}"
    return line


def diagnoses_draft(context: DocumentContext) -> SectionDraft:
    problems = list(
        Problem.objects.filter(patient=context.patient)
        .exclude(status=ENTERED_IN_ERROR)
        .order_by("clinical_status", "-onset_date", "-pk")
    )
    if not problems:
        return SectionDraft(("No diagnoses recorded.",), recorded=False)
    return SectionDraft(tuple(_problem_line(p) for p in problems))
