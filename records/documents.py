"""Documents for patients, rendered to PDF with WeasyPrint (no JavaScript: charts would be SVG), and the
machine-readable copy of a subject-access export. Rendering only: the services decide what goes in."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils import timezone

from records.models import CarePlan, Patient, SubjectAccessRequest
from records.registries.subject_access import SectionEntry
from records.selectors.subject_access import ExportSection, Redaction


def careplan_pdf(plan: CarePlan) -> bytes:
    from weasyprint import HTML  # imported when needed: it loads pango and fonts

    html = render_to_string("records/documents/careplan.html", {"plan": plan, "printed_at": timezone.now()})
    return HTML(string=html).write_pdf()


MARKING = "NHS Confidential Personal Data about a patient"


def _entry_json(entry: SectionEntry) -> dict:
    return {
        "id": entry.id,
        "when": entry.when,
        "summary": entry.summary,
        "entered_in_error": entry.entered_in_error,
        "details": entry.details,
        "rows": list(entry.rows),
    }


def _patient_json(patient: Patient) -> dict:
    return {
        "nhs_number": patient.nhs_number,
        "hospital_number": patient.hospital_number,
        "name": patient.display_name,
        "date_of_birth": patient.date_of_birth,
    }


def subject_access_json(
    sar: SubjectAccessRequest, sections: list[ExportSection], redactions: list[Redaction], generated_at
) -> bytes:
    document = {
        "marking": MARKING,
        "export": "subject-access",
        "organisation": settings.EPR_ORGANISATION_ODS,
        "request": {
            "id": sar.pk,
            "received_on": sar.received_on,
            "deadline": sar.deadline,
            "requester": sar.requester_display,
        },
        "generated_at": generated_at,
        "patient": _patient_json(sar.patient),
        "sections": [
            {"key": s.key, "title": s.title, "entries": [_entry_json(e) for e in s.entries]} for s in sections
        ],
        "redactions": [
            {
                "section": r.section,
                "section_title": r.section_title,
                "entry_id": r.entry_id,
                "reason": r.reason,
            }
            for r in redactions
        ],
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def subject_access_pdf(
    sar: SubjectAccessRequest, sections: list[ExportSection], redactions: list[Redaction], generated_at
) -> bytes:
    from weasyprint import HTML  # imported when needed: it loads pango and fonts

    html = render_to_string(
        "records/subject_access/export_pdf.html",
        {
            "sar": sar,
            "patient": sar.patient,
            "sections": sections,
            "redactions": redactions,
            "generated_at": generated_at,
            "marking": MARKING,
            "organisation": settings.EPR_ORGANISATION_ODS,
        },
    )
    return HTML(string=html).write_pdf()
