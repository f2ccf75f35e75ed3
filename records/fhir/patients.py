"""FHIR R4 Patient (UK Core) to and from the Patient model, and the Patient search parameters.

Outgoing resources are checked with the fhir.resources R4B models. Incoming resources arrive already
parsed by `epr.fhir.resources.parse_resource`; here they become the keyword arguments that
`records.services.patient_register` and `patient_update` accept. Fields the FHIR shape does not carry
(temporary identity, gender identity, the hospital number) are never touched by an update.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from epr.fhir.errors import invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import codeable_concept, concept_codes, concept_text, instant, validated
from records.models import EthnicCategory, NHSNumberStatus, Patient, Sex
from records.rules import patients as rules

PROFILE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
VERIFICATION_STATUS_URL = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
VERIFICATION_STATUS_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
ETHNIC_CATEGORY_URL = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_CATEGORY_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
INTERPRETER_REQUIRED_URL = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
CONTACT_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0131"
NEXT_OF_KIN = {"system": CONTACT_ROLE_SYSTEM, "code": "N", "display": "Next-of-Kin"}
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}

DEFAULT_COUNT = 20
MAX_COUNT = 100

CAPABILITY = Capability(
    profile=PROFILE,
    interactions=("read", "create", "update", "search-type"),
    search_params=(
        SearchParam("identifier", "token", f"{NHS_NUMBER_SYSTEM}|<NHS number>, or the hospital number"),
        SearchParam("family", "string", "Part of the family name; case and accents ignored"),
        SearchParam("given", "string", "Part of a given name; case and accents ignored"),
        SearchParam("birthdate", "date", "Exact date of birth, YYYY-MM-DD"),
        SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
        SearchParam("_offset", "number", "Index of the first result on the page"),
    ),
)


def hospital_number_system() -> str:
    return settings.EPR_HOSPITAL_NUMBER_SYSTEM


# --- Patient model -> FHIR ------------------------------------------------------------------------


def _identifiers(patient: Patient) -> list[dict[str, Any]]:
    identifiers = []
    if patient.nhs_number:
        status = NHSNumberStatus(patient.nhs_number_status)
        identifiers.append(
            {
                "extension": [
                    {
                        "url": VERIFICATION_STATUS_URL,
                        "valueCodeableConcept": codeable_concept(
                            (VERIFICATION_STATUS_SYSTEM, status.value, status.label)
                        ),
                    }
                ],
                "system": NHS_NUMBER_SYSTEM,
                "value": patient.nhs_number,
            }
        )
    identifiers.append({"system": hospital_number_system(), "value": patient.hospital_number})
    return identifiers


def _official_name(patient: Patient) -> dict[str, Any]:
    return {
        "use": "official",
        "family": patient.family_name,
        "given": patient.given_names.split() or None,
        "prefix": [patient.title] if patient.title else None,
    }


def _names(patient: Patient) -> list[dict[str, Any]]:
    names = [_official_name(patient)]
    if patient.preferred_name:
        names.append({"use": "usual", "given": patient.preferred_name.split()})
    return names


def _address(patient: Patient) -> list[dict[str, Any]]:
    lines = [line for line in (patient.address_line_1, patient.address_line_2) if line]
    if not (lines or patient.town or patient.postcode):
        return []
    return [
        {"use": "home", "line": lines, "city": patient.town or None, "postalCode": patient.postcode or None}
    ]


def _telecom(patient: Patient) -> list[dict[str, Any]]:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    return telecom


def _general_practitioner(patient: Patient) -> list[dict[str, Any]]:
    if not (patient.gp_practice_code or patient.gp_practice_name):
        return []
    reference: dict[str, Any] = {"type": "Organization", "display": patient.gp_practice_name or None}
    if patient.gp_practice_code:
        reference["identifier"] = {"system": ODS_SYSTEM, "value": patient.gp_practice_code}
    return [reference]


def _contact(patient: Patient) -> list[dict[str, Any]]:
    if not (patient.next_of_kin_name or patient.next_of_kin_relationship or patient.next_of_kin_phone):
        return []
    relationship = [{"coding": [NEXT_OF_KIN]}]
    if patient.next_of_kin_relationship:
        relationship.append({"text": patient.next_of_kin_relationship})
    return [
        {
            "relationship": relationship,
            "name": {"text": patient.next_of_kin_name} if patient.next_of_kin_name else None,
            "telecom": [{"system": "phone", "value": patient.next_of_kin_phone}]
            if patient.next_of_kin_phone
            else None,
        }
    ]


def _communication(patient: Patient) -> list[dict[str, Any]]:
    if not patient.preferred_language:
        return []
    return [{"language": {"text": patient.preferred_language}, "preferred": True}]


def _extensions(patient: Patient) -> list[dict[str, Any]]:
    extensions = []
    if patient.ethnic_category:
        category = EthnicCategory(patient.ethnic_category)
        extensions.append(
            {
                "url": ETHNIC_CATEGORY_URL,
                "valueCodeableConcept": codeable_concept(
                    (ETHNIC_CATEGORY_SYSTEM, category.value, category.label)
                ),
            }
        )
    if patient.interpreter_required:
        extensions.append({"url": INTERPRETER_REQUIRED_URL, "valueBoolean": True})
    return extensions


def _links(patient: Patient) -> list[dict[str, Any]]:
    if patient.merged_into_id is None:
        return []
    return [{"other": {"reference": f"Patient/{patient.merged_into_id}"}, "type": "replaced-by"}]


def _meta(patient: Patient, *, subset: bool) -> dict[str, Any]:
    return {
        "versionId": str(patient.version),
        "lastUpdated": instant(patient.updated_at),
        "profile": [PROFILE],
        "tag": [SUBSETTED] if subset else None,
    }


def _deceased(patient: Patient) -> dict[str, Any]:
    if patient.date_of_death:
        return {"deceasedDateTime": patient.date_of_death.isoformat()}
    return {"deceasedBoolean": False}


def _identity(patient: Patient) -> dict[str, Any]:
    """Identity fields only, as on the search page, tagged SUBSETTED."""
    return {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": _meta(patient, subset=True),
        "identifier": _identifiers(patient),
        "active": patient.is_active,
        "name": [_official_name(patient)],
        "gender": patient.sex,
        "birthDate": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
        "address": [{"postalCode": patient.postcode}] if patient.postcode else None,
        "link": _links(patient),
    }


def _full(patient: Patient) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": _meta(patient, subset=False),
        "extension": _extensions(patient),
        "identifier": _identifiers(patient),
        "active": patient.is_active,
        "name": _names(patient),
        "telecom": _telecom(patient),
        "gender": patient.sex,
        "birthDate": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
        **_deceased(patient),
        "address": _address(patient),
        "contact": _contact(patient),
        "communication": _communication(patient),
        "generalPractitioner": _general_practitioner(patient),
        "link": _links(patient),
    }


def patient_resource(patient: Patient) -> dict[str, Any]:
    """The full UK Core Patient, checked against the FHIR models."""
    return validated(_full(patient))


def patient_entry(patient: Patient, *, subset: bool) -> dict[str, Any]:
    """A Patient for a search Bundle, full or identity-only; the caller validates the whole Bundle."""
    return _identity(patient) if subset else _full(patient)


# --- FHIR -> keyword arguments for the patient services ------------------------------------------


def _extension(extensions: Iterable[Any] | None, url: str) -> Any:
    return next((e for e in extensions or [] if e.url == url), None)


def _identity_values(resource: Any) -> dict[str, Any]:
    nhs = [i for i in resource.identifier or [] if i.system == NHS_NUMBER_SYSTEM]
    if len(nhs) > 1:
        raise invalid_value("Send at most one NHS number identifier.", "Patient.identifier")
    if not nhs or not (nhs[0].value or "").strip():
        return {"nhs_number": ""}
    try:
        values: dict[str, Any] = {"nhs_number": rules.validate_nhs_number(nhs[0].value)}
    except rules.InvalidNHSNumber as exc:
        raise invalid_value(str(exc), "Patient.identifier") from exc
    status = _extension(nhs[0].extension, VERIFICATION_STATUS_URL)
    if status is not None:
        codings = concept_codes(status.valueCodeableConcept)
        code = next((c for s, c, _ in codings if s == VERIFICATION_STATUS_SYSTEM), None)
        if code not in NHSNumberStatus.values:
            raise invalid_value(
                f"The NHS number verification status must be a code from {VERIFICATION_STATUS_SYSTEM}.",
                "Patient.identifier.extension",
            )
        values["nhs_number_status"] = code
    return values


def _pick_name(names: list[Any], use: str) -> Any:
    return next((n for n in names if n.use == use), None)


def _name_values(resource: Any) -> dict[str, Any]:
    names = list(resource.name or [])
    official = _pick_name(names, "official") or next((n for n in names if n.use is None), None)
    if official is None and names:
        official = names[0]
    usual = _pick_name(names, "usual")
    preferred = ""
    if usual is not None and usual is not official:
        preferred = " ".join(usual.given or []) or usual.text or ""
    return {
        "title": " ".join(official.prefix or []) if official else "",
        "family_name": (official.family or "") if official else "",
        "given_names": " ".join(official.given or []) if official else "",
        "preferred_name": preferred,
    }


def _birth_and_death(resource: Any) -> dict[str, Any]:
    born = resource.birthDate
    if born is not None and not isinstance(born, date):
        raise invalid_value("birthDate must be a full date (YYYY-MM-DD).", "Patient.birthDate")
    if resource.deceasedBoolean:
        raise invalid_value(
            "This record keeps the date of death: send deceasedDateTime rather than deceasedBoolean true.",
            "Patient.deceasedBoolean",
        )
    died = resource.deceasedDateTime
    if isinstance(died, datetime):
        try:
            died = timezone.localtime(died).date() if timezone.is_aware(died) else died.date()
        except OverflowError as exc:
            raise invalid_value("deceasedDateTime is out of range.", "Patient.deceasedDateTime") from exc
    elif died is not None and not isinstance(died, date):
        raise invalid_value("deceasedDateTime must give at least a full date.", "Patient.deceasedDateTime")
    return {"date_of_birth": born, "date_of_death": died}


def _gender(resource: Any) -> str:
    gender = resource.gender or Sex.UNKNOWN
    if gender not in Sex.values:
        raise invalid_value(f"gender must be one of {', '.join(Sex.values)}.", "Patient.gender")
    return gender


def _address_values(resource: Any) -> dict[str, Any]:
    addresses = list(resource.address or [])
    address = next((a for a in addresses if a.use == "home"), addresses[0] if addresses else None)
    lines = list(address.line or []) if address else []
    return {
        "address_line_1": lines[0] if lines else "",
        "address_line_2": ", ".join(lines[1:]),
        "town": (address.city or "") if address else "",
        "postcode": (address.postalCode or "") if address else "",
    }


def _telecom_value(telecom: Iterable[Any] | None, system: str) -> str:
    return next((t.value for t in telecom or [] if t.system == system and t.value), "")


def _contact_values(resource: Any) -> dict[str, Any]:
    contacts = list(resource.contact or [])

    def is_next_of_kin(contact: Any) -> bool:
        return any(
            (s, c) == (CONTACT_ROLE_SYSTEM, "N")
            for concept in contact.relationship or []
            for s, c, _ in concept_codes(concept)
        )

    contact = next((c for c in contacts if is_next_of_kin(c)), contacts[0] if contacts else None)
    if contact is None:
        return {"next_of_kin_name": "", "next_of_kin_relationship": "", "next_of_kin_phone": ""}
    name = contact.name
    name_text = (name.text or " ".join([*(name.given or []), name.family or ""]).strip()) if name else ""
    # The coded "next of kin" role is implied; the words say how they are related (wife, son...).
    relationship = next((r.text for r in contact.relationship or [] if r.text), "")
    return {
        "next_of_kin_name": name_text,
        "next_of_kin_relationship": relationship,
        "next_of_kin_phone": _telecom_value(contact.telecom, "phone"),
    }


def _practice_values(resource: Any) -> dict[str, Any]:
    practice = next(
        (r for r in resource.generalPractitioner or [] if r.identifier and r.identifier.system == ODS_SYSTEM),
        None,
    )
    if practice is None:
        return {"gp_practice_code": "", "gp_practice_name": ""}
    return {
        "gp_practice_code": (practice.identifier.value or "").upper(),
        "gp_practice_name": practice.display or "",
    }


def _language_values(resource: Any) -> dict[str, Any]:
    languages = list(resource.communication or [])
    chosen = next((c for c in languages if c.preferred), languages[0] if languages else None)
    interpreter = _extension(resource.extension, INTERPRETER_REQUIRED_URL)
    return {
        "preferred_language": concept_text(chosen.language) if chosen else "",
        "interpreter_required": bool(interpreter and interpreter.valueBoolean),
    }


def _ethnic_category(resource: Any) -> str:
    extension = _extension(resource.extension, ETHNIC_CATEGORY_URL)
    if extension is None:
        return ""
    code = next(
        (c for s, c, _ in concept_codes(extension.valueCodeableConcept) if s == ETHNIC_CATEGORY_SYSTEM), None
    )
    if code not in EthnicCategory.values:
        raise invalid_value(
            f"The ethnic category must be a code from {ETHNIC_CATEGORY_SYSTEM}.", "Patient.extension"
        )
    return code


FIELD_ELEMENTS = {
    "nhs_number": "Patient.identifier",
    "nhs_number_status": "Patient.identifier.extension",
    "title": "Patient.name.prefix",
    "family_name": "Patient.name.family",
    "given_names": "Patient.name.given",
    "preferred_name": "Patient.name",
    "date_of_birth": "Patient.birthDate",
    "date_of_death": "Patient.deceasedDateTime",
    "address_line_1": "Patient.address.line",
    "address_line_2": "Patient.address.line",
    "town": "Patient.address.city",
    "postcode": "Patient.address.postalCode",
    "phone": "Patient.telecom",
    "email": "Patient.telecom",
    "gp_practice_code": "Patient.generalPractitioner.identifier",
    "gp_practice_name": "Patient.generalPractitioner.display",
    "next_of_kin_name": "Patient.contact.name",
    "next_of_kin_relationship": "Patient.contact.relationship",
    "next_of_kin_phone": "Patient.contact.telecom",
    "preferred_language": "Patient.communication.language",
}


def expression_for(field_name: str | None) -> list[str]:
    """Where in a Patient resource a model field lives, for OperationOutcome.issue.expression."""
    return [FIELD_ELEMENTS[field_name]] if field_name in FIELD_ELEMENTS else []


def _check_lengths(values: dict[str, Any]) -> None:
    # The columns are bounded; refuse here rather than let the database fail with a 500.
    for name, value in values.items():
        limit = Patient._meta.get_field(name).max_length
        if isinstance(value, str) and limit and len(" ".join(value.split())) > limit:
            raise invalid_value(
                f"{name.replace('_', ' ')} is longer than {limit} characters.", *expression_for(name)
            )


def demographics_from_resource(resource: Any) -> dict[str, Any]:
    """Keyword arguments for patient_register / patient_update from a parsed FHIR Patient.

    Every field the FHIR shape carries is returned (empty when absent), so an update replaces them
    as a FHIR PUT should. The verification status is returned only when the resource gives one.
    """
    values = {
        **_identity_values(resource),
        **_name_values(resource),
        **_birth_and_death(resource),
        "sex": _gender(resource),
        **_address_values(resource),
        "phone": _telecom_value(resource.telecom, "phone"),
        "email": _telecom_value(resource.telecom, "email"),
        **_practice_values(resource),
        **_contact_values(resource),
        **_language_values(resource),
        "ethnic_category": _ethnic_category(resource),
    }
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError as exc:
            raise invalid_value("The email address is not valid.", "Patient.telecom") from exc
    _check_lengths(values)
    return values


# --- Search ---------------------------------------------------------------------------------------
