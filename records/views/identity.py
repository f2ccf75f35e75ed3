"""Patient identity: merging a duplicate record and undoing it, linking records, archiving one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from records import services
from records.errors import RecordError
from records.forms.patients import (
    OtherRecordForm,
    ReasonForm,
)
from records.models import (
    PatientMerge,
)
from records.selectors import identity as identity_selectors
from records.selectors import patients as selectors
from records.services.patients import HISTORY_FIELDS
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    submitted,
)


@permission_required("records.merge_patient", raise_exception=True)
@patient_page()
def patient_merge(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    """Merge this (duplicate) record into the survivor named by hospital number: first the two records
    side by side, then the merge on confirmation, then what moved."""
    form = OtherRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and request.POST.get("confirm") != "yes":
        survivor = form.cleaned_data["other"]
        if survivor.pk == opened.patient.pk:
            form.add_error("other", "That is this record: enter the hospital number of the other record.")
        else:
            # Opening the survivor through the access helper audits that its details were shown.
            shown = selectors.patient_for_user(request.user, survivor.pk)
            return render(
                request,
                "records/merge_confirm.html",
                {
                    "opened": opened,
                    "patient": opened.patient,
                    "survivor": shown.patient,
                    "form": form,
                    "comparison": identity_selectors.compare_demographics(
                        opened.patient, shown.patient, HISTORY_FIELDS
                    ),
                },
            )
    merge = submitted(
        request,
        form,
        lambda data: services.patients_merge(
            merged_by=request.user, survivor=data["other"], duplicate=opened.patient, reason=data["reason"]
        ),
    )
    if merge is not NOT_DONE:
        messages.success(request, f"Merged into {merge.survivor.hospital_number}.")
        return redirect("records:merge_result", merge.survivor_id, merge.pk)
    return patient_form_page(
        request,
        opened,
        form,
        template="records/identity_form.html",
        title="Merge this record into another",
        hint="This record will be marked as merged and everything on it moves to the record you name. "
        "You will see both records side by side before anything changes. The merge can be undone.",
        button="Compare the records",
    )


@permission_required("records.merge_patient", raise_exception=True)
@patient_page()
def merge_result(request: HttpRequest, opened: selectors.PatientView, merge_id: int) -> HttpResponse:
    """What a merge into this record moved, counted by kind of entry."""
    merge = get_object_or_404(
        PatientMerge.objects.select_related("duplicate", "merged_by", "unmerged_by"),
        pk=merge_id,
        survivor=opened.patient,
    )
    return render(
        request,
        "records/merge_result.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "merge": merge,
            "moved": identity_selectors.merge_moved_counts(merge),
        },
    )


@require_POST
@permission_required("records.merge_patient", raise_exception=True)
@login_required
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    merge = get_object_or_404(PatientMerge, pk=merge_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for undoing the merge.")
        return redirect("records:patient_detail", merge.survivor_id)
    try:
        services.patient_unmerge(unmerged_by=request.user, merge=merge, reason=form.cleaned_data["reason"])
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Merge undone: both records are as they were before it.")
    return redirect("records:patient_detail", merge.duplicate_id)


@permission_required("records.link_patient", raise_exception=True)
@patient_page()
def patient_link(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    form = OtherRecordForm(request.POST or None)
    link = submitted(
        request,
        form,
        lambda data: services.patients_link(
            linked_by=request.user, patient=opened.patient, other=data["other"], reason=data["reason"]
        ),
    )
    if link is not NOT_DONE:
        messages.success(request, "Records linked.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(
        request,
        opened,
        form,
        template="records/identity_form.html",
        title="Link to another record",
        hint="Linked records are the same person but are kept apart.",
        button="Link records",
    )


@permission_required("records.archive_patient", raise_exception=True)
@patient_page()
def patient_archive(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    form = ReasonForm(request.POST or None)
    archived = submitted(
        request,
        form,
        lambda data: services.patient_archive(
            archived_by=request.user, patient=opened.patient, reason=data["reason"]
        ),
    )
    if archived is not NOT_DONE:
        messages.success(request, "Record archived.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(
        request,
        opened,
        form,
        template="records/identity_form.html",
        title="Archive this record",
        hint="An archived record no longer appears in searches. Nothing on it is deleted.",
        button="Archive record",
    )
