"""FHIR R4 AllergyIntolerance and Condition (UK Core), to and from AllergyIntolerance and Problem rows.

Ids are the row ids and meta.versionId the row's version. A row marked entered-in-error shows
verificationStatus entered-in-error and no clinicalStatus, as FHIR requires (ait-2, con-5). "No known
allergies" is an AllergyIntolerance coded SNOMED CT 716186003, as UK Core expects.

Incoming resources arrive parsed by `epr.fhir.resources.parse_resource`; here they become the keyword
arguments of `services.allergy_record` and `services.problem_record`. Searches are two queries (a
count and a page), whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from epr.fhir.errors import invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, codeable_concept, concept_codes, concept_text, instant, validated
from epr.terminology.models import CodeSystem
from records.fhir.common import (
    DEFAULT_COUNT,
    MAX_COUNT,
)
from records.models import (
    ENTERED_IN_ERROR,
    AllergyCategory,
    AllergyCriticality,
    AllergyIntolerance,
    AllergyKind,
    AllergySeverity,
    AllergyVerification,
    ClinicalStatus,
    EntryStatus,
    Problem,
    ProblemStatus,
    ProblemVerification,
)

SNOMED = CodeSystem.SNOMED.value
ICD10 = CodeSystem.ICD10.value
ALLERGY_PROFILE = f"{UK_CORE}UKCore-AllergyIntolerance"
CONDITION_PROFILE = f"{UK_CORE}UKCore-Condition"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ALLERGY_CATEGORY = "http://hl7.org/fhir/allergy-intolerance-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
PROBLEM_LIST_ITEM = "problem-list-item"
NO_KNOWN_ALLERGY = "716186003"
REACTION_NOT_RECORDED = "Reaction not recorded"

_COMMON_PARAMS = (
    SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff"),
    SearchParam("verification-status", "token", "confirmed, ... or entered-in-error"),
    SearchParam("_sort", "string", "-date (most recently recorded first, the default) or date"),
    SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
    SearchParam("_offset", "number", "Index of the first result on the page"),
)
ALLERGY_CAPABILITY = Capability(
    profile=ALLERGY_PROFILE,
    interactions=("read", "create", "search-type"),
    search_params=(
        *_COMMON_PARAMS,
        SearchParam(
            "code",
            "token",
            f"SNOMED CT substance as system|code or code; {NO_KNOWN_ALLERGY} for none known",
        ),
        SearchParam("category", "token", "food, medication, environment or biologic"),
        SearchParam("clinical-status", "token", "active, inactive or resolved"),
        SearchParam("date", "date", "recordedDate with ge, le, gt, lt or eq; repeat for a range"),
    ),
)
CONDITION_CAPABILITY = Capability(
    profile=CONDITION_PROFILE,
    interactions=("read", "create", "search-type"),
    search_params=(
        *_COMMON_PARAMS,
        SearchParam("code", "token", f"SNOMED CT ({SNOMED}) or ICD-10 ({ICD10}) as system|code, or code"),
        SearchParam("category", "token", f"{PROBLEM_LIST_ITEM} (every Condition here is one)"),
        SearchParam("clinical-status", "token", "active, resolved or inactive"),
        SearchParam("date", "date", "recordedDate with ge, le, gt, lt or eq; repeat for a range"),
        SearchParam("recorded-date", "date", "the same as date"),
        SearchParam("onset-date", "date", "onsetDateTime (a date) with ge, le, gt, lt or eq"),
    ),
)


# --- Model -> FHIR ---------------------------------------------------------------------------------


def _status(system: str, code: str) -> dict[str, Any]:
    return codeable_concept(
        (system, code, "Entered in Error" if code == ENTERED_IN_ERROR else code.capitalize())
    )


def _common(entry: AllergyIntolerance | Problem, profile: str) -> dict[str, Any]:
    return {
        "id": str(entry.pk),
        "meta": {"versionId": str(entry.version), "profile": [profile]},
        "recordedDate": instant(timezone.localtime(entry.recorded_at)),
        "recorder": {"type": "Practitioner", "display": str(entry.recorded_by)},
        "note": [{"text": entry.note}] if entry.note else None,
    }


def _statuses(entry: AllergyIntolerance | Problem, clinical: str, verification: str) -> dict[str, Any]:
    if entry.status == EntryStatus.ENTERED_IN_ERROR:
        return {"verificationStatus": _status(verification, ENTERED_IN_ERROR)}
    return {
        "clinicalStatus": _status(clinical, entry.clinical_status),
        "verificationStatus": _status(verification, entry.verification),
    }


def _substance(allergy: AllergyIntolerance) -> dict[str, Any]:
    if allergy.substance_code:
        display = allergy.substance_display or allergy.substance
        return codeable_concept((SNOMED, allergy.substance_code, display), text=allergy.substance)
    return {"text": allergy.substance_text}


def _reaction(allergy: AllergyIntolerance) -> list[dict[str, Any]] | None:
    if not allergy.reaction and not allergy.severity:
        return None
    # FHIR needs a manifestation in every reaction: say plainly when only the severity is known.
    return [
        {
            "manifestation": [{"text": allergy.reaction or REACTION_NOT_RECORDED}],
            "severity": allergy.severity or None,
        }
    ]


def allergy_entry(allergy: AllergyIntolerance) -> dict[str, Any]:
    """The AllergyIntolerance, unvalidated: for a Bundle that is validated as a whole."""
    nka = allergy.kind == AllergyKind.NO_KNOWN_ALLERGY
    return {
        "resourceType": "AllergyIntolerance",
        **_common(allergy, ALLERGY_PROFILE),
        **_statuses(allergy, ALLERGY_CLINICAL, ALLERGY_VERIFICATION),
        "type": None if nka else allergy.kind,
        "category": [allergy.category] if allergy.category else None,
        "criticality": allergy.criticality or None,
        "code": _substance(allergy),
        "patient": {"reference": f"Patient/{allergy.patient_id}"},
        "reaction": _reaction(allergy),
    }


def allergy_resource(allergy: AllergyIntolerance) -> dict[str, Any]:
    return validated(allergy_entry(allergy))


def condition_entry(problem: Problem) -> dict[str, Any]:
    """The Condition, unvalidated: for a Bundle that is validated as a whole."""
    codings = [(SNOMED, problem.snomed_code, problem.snomed_display)]
    if problem.icd10_code:
        codings.append((ICD10, problem.icd10_code, problem.icd10_display))
    return {
        "resourceType": "Condition",
        **_common(problem, CONDITION_PROFILE),
        **_statuses(problem, CONDITION_CLINICAL, CONDITION_VERIFICATION),
        "category": [codeable_concept((CONDITION_CATEGORY, PROBLEM_LIST_ITEM, "Problem List Item"))],
        "code": codeable_concept(*codings, text=problem.snomed_display),
        "subject": {"reference": f"Patient/{problem.patient_id}"},
        "onsetDateTime": problem.onset_date.isoformat() if problem.onset_date else None,
        "abatementDateTime": problem.resolved_date.isoformat() if problem.resolved_date else None,
    }


def condition_resource(problem: Problem) -> dict[str, Any]:
    return validated(condition_entry(problem))


# --- FHIR -> keyword arguments for the services ----------------------------------------------------


@dataclass(frozen=True)
class EntryInput:
    """A posted resource as service arguments, with where in the resource each field came from."""

    patient: str  # the patient (or subject) reference as sent
    values: dict[str, Any]
    paths: dict[str, str]
    none_known: bool = False


def _reference(reference: Any, path: str) -> str:
    text = (reference.reference or "") if reference is not None else ""
    if not text:
        raise invalid_value("Say whose record this is: Patient/<id>.", path, code="required")
    return text


def _status_code(concept: Any, system: str, allowed: list[str], path: str, default: str) -> str:
    if concept is None:
        return default
    codes = {code for s, code, _ in concept_codes(concept) if s in (None, system)}
    if len(codes) != 1:
        raise invalid_value(f"Give one code from {system}.", path)
    code = codes.pop()
    if code not in allowed:
        raise invalid_value(
            f"{code!r} cannot be recorded here; use one of: {', '.join(allowed)}.",
            path,
            status=422,
            code="not-supported",
        )
    return code


def _choice(value: str | None, allowed: list[str], path: str) -> str:
    if value is None:
        return ""
    if value not in allowed:
        raise invalid_value(f"{value!r} is not one of: {', '.join(allowed)}.", path)
    return value


def _limited(text: str, limit: int, path: str) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        raise invalid_value(f"At most {limit} characters are kept here.", path)
    return text


def _note(resource: Any) -> str:
    return "\n".join(n.text.strip() for n in resource.note or [] if n.text and n.text.strip())


def _snomed_code(concept: Any, path: str) -> str:
    codes = {code for system, code, _ in concept_codes(concept) if system == SNOMED and code}
    if len(codes) > 1:
        raise invalid_value("Send one SNOMED CT coding.", path)
    return codes.pop() if codes else ""


def _allergy_substance(resource: Any) -> dict[str, str]:
    path = "AllergyIntolerance.code"
    if resource.code is None:
        raise invalid_value("Say what the patient is allergic to: code.", path, code="required")
    code = _snomed_code(resource.code, path)
    if code:
        return {"substance_code": code}
    if concept_codes(resource.code):
        raise invalid_value(
            f"Code the substance in SNOMED CT ({SNOMED}), or send code.text alone for free text.",
            path,
            status=422,
            code="not-supported",
        )
    text = _limited(resource.code.text or "", 255, path)
    if not text:
        raise invalid_value("Say what the patient is allergic to: code.", path, code="required")
    return {"substance_text": text}


def _allergy_reaction(resource: Any) -> dict[str, str]:
    reactions = resource.reaction or []
    if not reactions:
        return {}
    if len(reactions) > 1:
        raise invalid_value("Send at most one reaction.", "AllergyIntolerance.reaction[1]", status=422)
    reaction = reactions[0]
    path = "AllergyIntolerance.reaction[0]"
    words = [concept_text(m) for m in reaction.manifestation]
    text = "; ".join(w for w in words if w and w != REACTION_NOT_RECORDED)
    return {
        "reaction": _limited(text, 255, f"{path}.manifestation"),
        "severity": _choice(reaction.severity, AllergySeverity.values, f"{path}.severity"),
    }


ALLERGY_PATHS = {
    "substance_code": "AllergyIntolerance.code",
    "substance_text": "AllergyIntolerance.code",
    "kind": "AllergyIntolerance.type",
    "category": "AllergyIntolerance.category",
    "criticality": "AllergyIntolerance.criticality",
    "verification": "AllergyIntolerance.verificationStatus",
    "clinical_status": "AllergyIntolerance.clinicalStatus",
    "reaction": "AllergyIntolerance.reaction[0].manifestation",
    "severity": "AllergyIntolerance.reaction[0].severity",
    "note": "AllergyIntolerance.note",
}


def allergy_from_resource(resource: Any) -> EntryInput:
    """Arguments for services.allergy_record; 400/422 FHIRError naming the element otherwise."""
    patient = _reference(resource.patient, "AllergyIntolerance.patient")
    substance = _allergy_substance(resource)
    if substance.get("substance_code") == NO_KNOWN_ALLERGY:
        return EntryInput(patient=patient, values={}, paths=ALLERGY_PATHS, none_known=True)
    categories = resource.category or []
    if len(categories) > 1:
        raise invalid_value("Send one category.", "AllergyIntolerance.category", status=422)
    kinds = [AllergyKind.ALLERGY.value, AllergyKind.INTOLERANCE.value]
    values = {
        **substance,
        "kind": _choice(resource.type, kinds, ALLERGY_PATHS["kind"]) or AllergyKind.ALLERGY,
        "category": _choice(
            categories[0] if categories else None, AllergyCategory.values, ALLERGY_PATHS["category"]
        ),
        "criticality": _choice(resource.criticality, AllergyCriticality.values, ALLERGY_PATHS["criticality"]),
        "clinical_status": _status_code(
            resource.clinicalStatus,
            ALLERGY_CLINICAL,
            ClinicalStatus.values,
            ALLERGY_PATHS["clinical_status"],
            ClinicalStatus.ACTIVE,
        ),
        "verification": _status_code(
            resource.verificationStatus,
            ALLERGY_VERIFICATION,
            AllergyVerification.values,
            ALLERGY_PATHS["verification"],
            AllergyVerification.UNCONFIRMED,
        ),
        **_allergy_reaction(resource),
        "note": _note(resource),
    }
    return EntryInput(patient=patient, values=values, paths=ALLERGY_PATHS)


CONDITION_PATHS = {
    "snomed_code": "Condition.code",
    "clinical_status": "Condition.clinicalStatus",
    "verification": "Condition.verificationStatus",
    "onset_date": "Condition.onsetDateTime",
    "resolved_date": "Condition.abatementDateTime",
    "note": "Condition.note",
}


def _local_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


def _condition_category(resource: Any) -> None:
    for index, concept in enumerate(resource.category or []):
        codes = {code for system, code, _ in concept_codes(concept) if system in (None, CONDITION_CATEGORY)}
        if PROBLEM_LIST_ITEM not in codes:
            raise invalid_value(
                "Conditions are recorded here as problem list items "
                f"({CONDITION_CATEGORY}|{PROBLEM_LIST_ITEM}).",
                f"Condition.category[{index}]",
                status=422,
                code="not-supported",
            )


def _unsupported_choice(resource: Any, prefix: str, supported: str) -> None:
    for name in ("Age", "Period", "Range", "String"):
        if getattr(resource, f"{prefix}{name}", None) is not None:
            raise invalid_value(
                f"Give {prefix} as {supported} (a date).",
                f"Condition.{prefix}{name}",
                status=422,
                code="not-supported",
            )


def condition_from_resource(resource: Any) -> EntryInput:
    """Arguments for services.problem_record; 400/422 FHIRError naming the element otherwise."""
    patient = _reference(resource.subject, "Condition.subject")
    path = CONDITION_PATHS["snomed_code"]
    code = _snomed_code(resource.code, path) if resource.code is not None else ""
    if not code:
        raise invalid_value(
            f"Code the problem in SNOMED CT ({SNOMED}); the ICD-10 code is added from the map.",
            path,
            status=422 if resource.code is not None else 400,
            code="required",
        )
    _condition_category(resource)
    _unsupported_choice(resource, "onset", "onsetDateTime")
    _unsupported_choice(resource, "abatement", "abatementDateTime")
    values = {
        "snomed_code": code,
        "clinical_status": _status_code(
            resource.clinicalStatus,
            CONDITION_CLINICAL,
            ProblemStatus.values,
            CONDITION_PATHS["clinical_status"],
            ProblemStatus.ACTIVE,
        ),
        "verification": _status_code(
            resource.verificationStatus,
            CONDITION_VERIFICATION,
            ProblemVerification.values,
            CONDITION_PATHS["verification"],
            ProblemVerification.CONFIRMED,
        ),
        "onset_date": _local_date(resource.onsetDateTime),
        "resolved_date": _local_date(resource.abatementDateTime),
        "note": _note(resource),
    }
    return EntryInput(patient=patient, values=values, paths=CONDITION_PATHS)


# --- Search ----------------------------------------------------------------------------------------
