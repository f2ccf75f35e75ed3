"""Scheduling's pages: the patient's wristband (until the bed board and admission pages of this app's
issue print it at admission, a link in the patient banner prints it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from records.access import Level
from records.selectors.patients import PatientView
from records.views.base import patient_page
from scheduling.wristbands import wristband_pdf


@patient_page(minimum=Level.DEMOGRAPHIC, action=Action.EXPORT)
def wristband(request: HttpRequest, opened: PatientView) -> HttpResponse:
    patient = opened.patient
    audit_record(
        user=request.user,
        action=Action.EXPORT,
        patient_id=patient.pk,
        obj=patient,
        channel=Channel.EXPORT,
        detail={"document": "wristband"},
    )
    response = HttpResponse(wristband_pdf(patient), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="wristband-{patient.hospital_number}.pdf"'
    return response
