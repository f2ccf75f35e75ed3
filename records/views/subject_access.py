"""Subject access pages: log a request, choose redactions, generate (with progress), download, close.

Who: the information governance team, which is the admin role here, holds
`records.manage_subject_access`; managers hold `records.view_subjectaccessrequest` and see only the
list of open requests and their deadlines. Admins open the patient at demographic level by role;
the export itself carries the clinical record, which is what the permission allows.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from records import services
from records.access import open_record
from records.errors import NoRelationship, RecordError
from records.forms.subject_access import (
    REDACTION_REASONS,
    SubjectAccessRequestForm,
    chosen_redactions,
    redaction_errors,
    redaction_groups,
)
from records.models import SubjectAccessRequest
from records.selectors import patients as selectors
from records.selectors.subject_access import collect_export, open_requests_for_user, requests_of
from records.services.subject_access import EXPORT_FORMATS
from records.views.base import patient_page, posted_version, refusal_on_form

MANAGE = "records.manage_subject_access"


def _request_of(opened: selectors.PatientView, request_id: int) -> SubjectAccessRequest:
    return get_object_or_404(
        SubjectAccessRequest.objects.select_related("logged_by", "closed_by", "generation_requested_by"),
        pk=request_id,
        patient=opened.patient,
    )


def _unaudited_request(request: HttpRequest, patient_id: int, request_id: int) -> SubjectAccessRequest:
    """For the progress poll and downloads, which are not page reads of the record: the one door
    decides (a refusal is audited), and the caller audits what needs it."""
    sar = get_object_or_404(
        SubjectAccessRequest.objects.select_related("patient"), pk=request_id, patient_id=patient_id
    )
    try:
        open_record(request.user, sar.patient, audit_action=None)
    except NoRelationship as exc:
        raise PermissionDenied("You may not see this patient's record.") from exc
    return sar


@permission_required(MANAGE, raise_exception=True)
@patient_page()
def sar_patient_list(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    return render(
        request,
        "records/subject_access/patient_requests.html",
        {"opened": opened, "patient": opened.patient, "requests": requests_of(opened.patient)},
    )


@permission_required(MANAGE, raise_exception=True)
@patient_page()
def sar_create(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    form = SubjectAccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sar = services.subject_access_create(
                logged_by=request.user, patient=opened.patient, **form.cleaned_data
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(
                request,
                f"Request logged. The response is due by {sar.deadline:%d-%b-%Y}. Now choose any redactions.",
            )
            return redirect("records:sar_redactions", opened.patient.pk, sar.pk)
    return render(
        request,
        "records/encounter_form.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "form": form,
            "title": "Log a subject access request",
            "button": "Log request",
        },
    )


@permission_required(MANAGE, raise_exception=True)
@patient_page()
def sar_detail(request: HttpRequest, opened: selectors.PatientView, request_id: int) -> HttpResponse:
    sar = _request_of(opened, request_id)
    return render(
        request,
        "records/subject_access/request.html",
        {"opened": opened, "patient": opened.patient, "sar": sar},
    )


@permission_required(MANAGE, raise_exception=True)
@patient_page()
def sar_redactions(request: HttpRequest, opened: selectors.PatientView, request_id: int) -> HttpResponse:
    sar = _request_of(opened, request_id)
    listed, _ = collect_export(opened.patient, redactions=[])
    posted = request.POST if request.method == "POST" else None
    groups = redaction_groups(listed, sar.redactions, posted)
    errors = redaction_errors(groups)
    if posted is not None and not errors:
        try:
            sar = services.subject_access_set_redactions(
                changed_by=request.user,
                sar=sar,
                redactions=chosen_redactions(groups),
                expected_version=posted_version(request),
            )
        except RecordError as exc:
            messages.error(request, exc.message)
        else:
            if posted.get("action") != "generate":
                messages.success(request, f"Redactions saved ({len(sar.redactions)}).")
                return redirect("records:sar_detail", opened.patient.pk, sar.pk)
            try:
                services.subject_access_queue_generation(requested_by=request.user, sar=sar)
            except RecordError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, "Redactions saved. The export is being generated.")
            return redirect("records:sar_detail", opened.patient.pk, sar.pk)
    return render(
        request,
        "records/subject_access/redactions.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "sar": sar,
            "groups": groups,
            "errors": errors,
            "reasons": REDACTION_REASONS,
        },
        status=400 if errors else 200,
    )


@require_POST
@permission_required(MANAGE, raise_exception=True)
@patient_page()
def sar_generate(request: HttpRequest, opened: selectors.PatientView, request_id: int) -> HttpResponse:
    sar = _request_of(opened, request_id)
    try:
        services.subject_access_queue_generation(requested_by=request.user, sar=sar)
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The export is being generated.")
    return redirect("records:sar_detail", opened.patient.pk, sar.pk)


@login_required
@permission_required(MANAGE, raise_exception=True)
def sar_progress(request: HttpRequest, patient_id: int, request_id: int) -> HttpResponse:
    """htmx poll: percent and step only (no record content), so it writes no audit row."""
    sar = _unaudited_request(request, patient_id, request_id)
    return render(request, "records/subject_access/partials/progress.html", {"sar": sar})


@login_required
@permission_required(MANAGE, raise_exception=True)
def sar_download(request: HttpRequest, patient_id: int, request_id: int, fmt: str) -> FileResponse:
    sar = _unaudited_request(request, patient_id, request_id)
    if fmt not in EXPORT_FORMATS or not sar.has_export:
        raise Http404("No export of that kind.")
    services.subject_access_record_download(downloaded_by=request.user, sar=sar, fmt=fmt)
    field_file = sar.pdf_file if fmt == "pdf" else sar.json_file
    response = FileResponse(
        field_file.open("rb"),
        as_attachment=True,
        filename=f"subject-access-{sar.patient.hospital_number}-{sar.pk}.{fmt}",
        content_type="application/pdf" if fmt == "pdf" else "application/json",
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@permission_required(MANAGE, raise_exception=True)
@patient_page()
def sar_close(request: HttpRequest, opened: selectors.PatientView, request_id: int) -> HttpResponse:
    sar = _request_of(opened, request_id)
    try:
        services.subject_access_close(closed_by=request.user, sar=sar)
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Marked as sent. The request is closed; the export is kept.")
    return redirect("records:sar_detail", opened.patient.pk, sar.pk)


@login_required
@permission_required("records.view_subjectaccessrequest", raise_exception=True)
def sar_deadlines(request: HttpRequest) -> HttpResponse:
    return render(
        request, "records/subject_access/deadlines.html", {"requests": open_requests_for_user(request.user)}
    )
