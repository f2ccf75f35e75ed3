"""The patient's letters: discharge summaries and clinic letters listed with where each was sent;
starting one for an admission or a clinic attendance; the editor (each heading a text area, prefilled,
Save draft or Sign); a signed one read-only with its deliveries and its PDF."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.parsing import ascii_int
from records.access import Level
from records.errors import RecordError
from records.models import Encounter
from records.selectors.patients import PatientView
from records.views.base import patient_page, posted_version, refusal_on_form, require_perm
from scheduling.forms.documents import SIGN, DocumentForm
from scheduling.models import Appointment, ClinicalDocument, DocumentDelivery, DocumentStatus
from scheduling.renderings import document_pdf
from scheduling.selectors import documents as selectors
from scheduling.services import delivery as delivery_services
from scheduling.services import documents as services

VIEW, WRITE = "scheduling.view_clinicaldocument", "scheduling.change_clinicaldocument"


def _document(opened: PatientView, document_id: int) -> ClinicalDocument:
    try:
        return selectors.document_for(opened.patient, document_id)
    except ClinicalDocument.DoesNotExist as exc:
        raise Http404("No such document") from exc


@patient_page(minimum=Level.CLINICAL)
def patient_documents(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see discharge summaries and letters.")
    patient = opened.patient
    writer = request.user.has_perm(WRITE)
    return render(
        request,
        "scheduling/documents/letters.html",
        {
            "opened": opened,
            "patient": patient,
            "documents": selectors.patient_documents(patient),
            "admissions": selectors.admissions_without_summary(patient) if writer else [],
            "attendances": selectors.attendances_without_letter(patient) if writer else [],
        },
    )


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.CREATE)
def document_start(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, WRITE, "Only a doctor writes discharge summaries and clinic letters.")
    patient = opened.patient
    encounter_id = ascii_int(request.POST.get("encounter", ""))
    appointment_id = ascii_int(request.POST.get("appointment", ""))
    try:
        if encounter_id:
            encounter = Encounter.objects.filter(patient=patient, pk=encounter_id).first()
            if encounter is None:
                raise Http404("No such admission")
            document = services.discharge_summary_start(encounter=encounter, author=request.user)
        else:
            appointment = Appointment.objects.filter(patient=patient, pk=appointment_id or 0).first()
            if appointment is None:
                raise Http404("No such appointment")
            document = services.clinic_letter_start(appointment=appointment, author=request.user)
    except RecordError as exc:
        messages.error(request, exc.message)
        return redirect("scheduling:patient_documents", patient.pk)
    return redirect("scheduling:document_edit", patient.pk, document.pk)


def _posted(request: HttpRequest, form: DocumentForm, document: ClinicalDocument) -> ClinicalDocument | None:
    """Save the draft (and sign it, for Sign); None when the form is to be shown again."""
    if not form.is_valid():
        return None
    signing = request.POST.get("action") == SIGN
    try:
        # One transaction: a refused signature rolls the save back too, so the form shown again still
        # matches the stored version.
        with transaction.atomic():
            saved = services.document_save(
                document=document, texts=form.texts(), version=posted_version(request), saved_by=request.user
            )
            if signing:
                return services.document_sign(document=saved, version=saved.version, signed_by=request.user)
    except RecordError as exc:
        refusal_on_form(form, exc)
        return None
    return saved


def _messages_after(request: HttpRequest, document: ClinicalDocument) -> None:
    if document.status == DocumentStatus.SIGNED:
        messages.success(request, f"{document.get_kind_display()} signed. It is being sent.")
    else:
        messages.success(request, "Draft saved.")


@patient_page(minimum=Level.CLINICAL)
def document_edit(request: HttpRequest, opened: PatientView, document_id: int) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see discharge summaries and letters.")
    document = _document(opened, document_id)
    editing = document.status == DocumentStatus.DRAFT and request.user.has_perm(WRITE)
    form = None
    if editing:
        headings = selectors.editable_headings(document.kind)
        data = request.POST if request.method == "POST" else None
        form = DocumentForm(
            data, headings=headings, texts=document.sections, initial={"version": document.version}
        )
        if request.method == "POST":
            done = _posted(request, form, document)
            if done is not None:
                _messages_after(request, done)
                return redirect("scheduling:document_edit", opened.patient.pk, document.pk)
    elif request.method == "POST":
        messages.error(request, "This document can no longer be changed.")
        return redirect("scheduling:document_edit", opened.patient.pk, document.pk)
    return render(
        request,
        "scheduling/documents/document.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "document": document,
            "form": form,
            "rows": selectors.editor_rows(document),
            "writer": request.user.has_perm(WRITE),
        },
        status=400 if form is not None and form.errors else 200,
    )


@patient_page(minimum=Level.CLINICAL, action=Action.EXPORT)
def document_download(request: HttpRequest, opened: PatientView, document_id: int) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see discharge summaries and letters.")
    document = _document(opened, document_id)
    audit_record(
        user=request.user,
        action=Action.EXPORT,
        patient_id=opened.patient.pk,
        obj=document,
        channel=Channel.EXPORT,
        detail={"document": document.kind, "format": "pdf"},
    )
    pdf = document_pdf(document, selectors.printed_sections(document))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.kind}-{document.pk}.pdf"'
    return response


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def delivery_action(request: HttpRequest, opened: PatientView, delivery_id: int) -> HttpResponse:
    require_perm(request, WRITE, "Your role may not change where a document is sent.")
    delivery = (
        DocumentDelivery.objects.filter(pk=delivery_id, document__patient=opened.patient)
        .select_related("document")
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery")
    try:
        if request.POST.get("action") == "received":
            delivery_services.delivery_mark_received(delivery=delivery, marked_by=request.user)
            messages.success(request, "Marked as received by the practice.")
        else:
            delivery_services.delivery_send_again(delivery=delivery, by=request.user)
            messages.success(request, "Queued to send again.")
    except RecordError as exc:
        messages.error(request, exc.message)
    return redirect("scheduling:document_edit", opened.patient.pk, delivery.document_id)
