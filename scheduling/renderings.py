"""A signed discharge summary or clinic letter as the GP receives it: a PDF (WeasyPrint: "NHS
Confidential" at the head of every page, page x of y at the foot) and a FHIR R4 document Bundle (a
Composition typed SNOMED 373942005 "Discharge summary" or 823681000000100 "Outpatient letter", each
section coded with its PRSB heading in SNOMED and in UK Core's record-standard headings, then the
Patient, the author as a Practitioner and the trust as custodian). Both take the document and its
printed sections (heading and text, in order); blank optional sections are left out of both."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from records.fhir.patients import patient_resource
from scheduling.models import ClinicalDocument, DocumentKind

SNOMED = "http://snomed.info/sct"
HEADINGS_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-RecordStandardHeadings"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
DOCUMENT_TYPES = {
    DocumentKind.DISCHARGE_SUMMARY.value: ("373942005", "Discharge summary"),
    DocumentKind.CLINIC_LETTER.value: ("823681000000100", "Outpatient letter"),
}
# PRSB heading -> (SNOMED concept, UK Core record-standard heading code); docs/fhir.md lists them.
HEADING_CODES = {
    "Admission details": ("886781000000108", "admission-details"),
    "Allergies and adverse reactions": ("886921000000105", "allergies-and-adverse-reaction"),
    "Attendance details": ("1077881000000105", "attendance-details"),
    "Clinical summary": ("887181000000106", "clinical-summary"),
    "Diagnoses": ("887161000000102", "diagnoses"),
    "Discharge details": ("886811000000106", "discharge-details"),
    "Examination findings": ("715851000000102", "examination-findings"),
    "GP practice": ("886711000000101", "general-practitioner-practice"),
    "History": ("717121000000105", "history"),
    "Information and advice given": ("1052951000000105", "information-and-advice-given"),
    "Investigation results": ("1082101000000102", "investigation-results"),
    "Legal information": ("886961000000102", "legal-information"),
    "Medications and medical devices": ("933361000000108", "medications-and-medical-devices"),
    "Patient demographics": ("886731000000109", "patient-demographics"),
    "Person completing record": ("887231000000104", "person-completing-record"),
    "Plan and requested actions": ("887201000000105", "plan-and-requested-actions"),
    "Procedures": ("887171000000109", "procedures"),
}


@dataclass(frozen=True)
class PrintedSection:
    key: str
    heading: str
    text: str
    mandatory: bool = False

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def _shown(sections: list[PrintedSection]) -> list[PrintedSection]:
    return [s for s in sections if s.text.strip() or s.mandatory]


def document_pdf(document: ClinicalDocument, sections: list[PrintedSection]) -> bytes:
    from weasyprint import HTML  # imported when a document is printed: it loads pango and fonts

    html = render_to_string(
        "scheduling/documents/pdf.html",
        {
            "document": document,
            "patient": document.patient,
            "sections": _shown(sections),
            "title": DOCUMENT_TYPES[document.kind][1],
            "organisation": settings.EPR_ORGANISATION_ODS,
            "printed_at": timezone.now(),
        },
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def _urn(document: ClinicalDocument, what: str) -> str:
    # The same ids every time the document is rendered: a resend is the same document.
    name = f"{settings.EPR_ORGANISATION_ODS}/{document.kind}/{document.pk}/{what}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _narrative(lines: list[str]) -> dict[str, str]:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line.strip()) or "<p>None recorded.</p>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _section(section: PrintedSection) -> dict[str, Any]:
    found: dict[str, Any] = {"title": section.heading, "text": _narrative(section.lines)}
    codes = HEADING_CODES.get(section.heading)
    if codes is not None:
        found["code"] = {
            "coding": [
                {"system": SNOMED, "code": codes[0], "display": section.heading},
                {"system": HEADINGS_SYSTEM, "code": codes[1]},
            ]
        }
    return found


def _practitioner(document: ClinicalDocument) -> dict[str, Any]:
    user = document.signed_by or document.author
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "name": [
            {
                "family": user.last_name or user.get_username(),
                "given": [user.first_name] if user.first_name else None,
            }
        ],
    }
    registration = getattr(user, "professional_registration", "")
    if registration:
        resource["identifier"] = [{"value": registration}]
    return resource


def _custodian() -> dict[str, Any]:
    code = settings.EPR_ORGANISATION_ODS
    return {"resourceType": "Organization", "id": code, "identifier": [{"system": ODS_SYSTEM, "value": code}]}


def _composition(document: ClinicalDocument, sections: list[PrintedSection]) -> dict[str, Any]:
    code, display = DOCUMENT_TYPES[document.kind]
    when = document.signed_at or document.created_at
    return {
        "resourceType": "Composition",
        "id": str(document.pk),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn(document, "composition")},
        "status": "final" if document.signed_at else "preliminary",
        "type": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "subject": {"reference": _urn(document, "patient")},
        "date": when.isoformat(),
        "author": [{"reference": _urn(document, "author")}],
        "title": display,
        "custodian": {"reference": _urn(document, "custodian")},
        "section": [_section(s) for s in _shown(sections)],
    }


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [_without_nones(v) for v in value if v not in (None, [], {}, "")]
    return value


def document_bundle(document: ClinicalDocument, sections: list[PrintedSection]) -> dict[str, Any]:
    """The FHIR R4 document Bundle: the Composition first, then every resource it refers to."""
    entries = [
        (_urn(document, "composition"), _composition(document, sections)),
        (_urn(document, "patient"), patient_resource(document.patient)),
        (_urn(document, "author"), _practitioner(document)),
        (_urn(document, "custodian"), _custodian()),
    ]
    bundle: dict[str, Any] = _without_nones(
        {
            "resourceType": "Bundle",
            "identifier": {"system": "urn:ietf:rfc:3986", "value": _urn(document, "bundle")},
            "type": "document",
            "timestamp": (document.signed_at or document.created_at).isoformat(),
            "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
        }
    )
    return bundle
