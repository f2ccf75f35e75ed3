"""Pages of the patient record. Thin: parse, check, call a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from epr.parsing import ascii_int
from records import services
from records.access import may_change_record, patient_access
from records.errors import RecordError
from records.forms.patients import (
    DemographicsForm,
    PatientSearchForm,
    ReasonForm,
)
from records.models import (
    Patient,
)
from records.selectors import identity as identity_selectors
from records.selectors import patients as selectors
from records.selectors import wards as ward_selectors
from records.services.patients import HISTORY_FIELDS
from records.views.base import (
    NOT_DONE,
    patient_page,
    posted_version,
    refusal_on_form,
    submitted,
)


@login_required
def patient_search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid():
        results = selectors.patient_search(request.user, **form.criteria())
    return render(request, "records/search.html", {"form": form, "results": results})


@login_required
@permission_required("records.add_patient", raise_exception=True)
def patient_register(request: HttpRequest) -> HttpResponse:
    """Register a patient; possible matches on name with birth date and sex (or postcode) are shown
    first, and only an explicit "none of these is the patient" registers a new record."""
    form = DemographicsForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        values = form.values()
        holder = identity_selectors.active_holder_of_nhs_number(values.get("nhs_number", ""))
        matches = [] if values.get("temporary_identity") else _possible_duplicates(values)
        if holder is not None:
            context["nhs_clash"] = _nhs_clash(request, form, holder)
        elif matches and not {m.pk for m in matches} <= _posted_ids(request, "not_duplicate_of"):
            selectors.audit_list_shown(
                request.user, listing="possible duplicates", patient_ids=[m.pk for m in matches]
            )
            posted = [
                (name, value)
                for name in request.POST
                if name not in ("csrfmiddlewaretoken", "not_duplicate_of")
                for value in request.POST.getlist(name)
            ]
            context.update(matches=matches, match_ids=",".join(str(m.pk) for m in matches), posted=posted)
        else:
            try:
                patient = services.patient_register(registered_by=request.user, **values)
            except RecordError as exc:
                refusal_on_form(form, exc)
            else:
                messages.success(
                    request, f"Registered {patient.display_name}, hospital number {patient.hospital_number}."
                )
                return redirect("records:patient_detail", patient.pk)
    return render(request, "records/register.html", context)


def _possible_duplicates(values: dict) -> list[Patient]:
    return identity_selectors.possible_duplicates(
        family_name=values.get("family_name") or "",
        given_names=values.get("given_names") or "",
        date_of_birth=values.get("date_of_birth"),
        sex=values.get("sex") or "",
        postcode=values.get("postcode") or "",
    )


def _posted_ids(request: HttpRequest, name: str) -> set[int]:
    """Record ids a confirmation was given for ("12,15"); anything garbled counts as none."""
    return {n for n in (ascii_int(part) for part in request.POST.get(name, "").split(",")) if n}


def _nhs_clash(request: HttpRequest, form, holder: Patient) -> dict[str, Any]:
    """The NHS number is already in use: say by whom, with a link if this user may open that record."""
    form.add_error(
        "nhs_number",
        f"NHS number {holder.nhs_number_display} is already in use by the record {holder.hospital_number}.",
    )
    return {"holder": holder, "can_open": patient_access(request.user, holder).allowed}


@patient_page()
def patient_detail(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    """Clinical staff open a patient on the clinical summary; clerks and managers on the demographics."""
    if not (opened.access.clinical and getattr(request.user, "is_clinical", False)):
        return _demographics(request, opened)
    stay = opened.current_stay
    summary = ward_selectors.patient_summary(
        request.user, opened.patient, stay.encounter.admitted_at if stay else None
    )
    context = {"opened": opened, "patient": opened.patient, "summary": summary, "now": timezone.now()}
    return render(request, "records/patient_summary.html", {**context, "section": "summary"})


@patient_page()
def patient_demographics(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    return _demographics(request, opened)


def _demographics(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    patient = opened.patient
    return render(
        request,
        "records/patient_detail.html",
        {
            "opened": opened,
            "patient": patient,
            "encounters": selectors.encounters_of(patient),
            "links": identity_selectors.links_of(patient),
            "merges": identity_selectors.merges_involving(patient),
            "section": "details",
            # Break-glass reads and records clinical entries; it is no way to move or re-identify a patient.
            "can_change": may_change_record(request.user, opened.access),
        },
    )


@patient_page()
def patient_edit(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    if not request.user.has_perm("records.change_patient") or not may_change_record(
        request.user, opened.access
    ):
        raise PermissionDenied("You may not change this patient's details.")
    patient = opened.patient
    form = DemographicsForm(request.POST or None, instance=None if request.method == "POST" else patient)
    version = posted_version(request) if request.method == "POST" else patient.version
    context: dict[str, Any] = {"opened": opened, "patient": patient, "form": form, "version": version}
    if request.method == "POST" and form.is_valid():
        values = form.values()
        holder = identity_selectors.active_holder_of_nhs_number(
            values.get("nhs_number", ""), exclude_id=patient.pk
        )
        if holder is not None:
            context["nhs_clash"] = _nhs_clash(request, form, holder)
        else:
            try:
                services.patient_update(
                    updated_by=request.user, patient=patient, expected_version=version, changes=values
                )
            except RecordError as exc:
                refusal_on_form(form, exc)
            else:
                messages.success(request, "Details saved.")
                return redirect("records:patient_detail", patient.pk)
    return render(request, "records/patient_edit.html", context)


@patient_page()
def patient_history(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    patient = opened.patient
    rows = selectors.demographic_history(patient, HISTORY_FIELDS)
    return render(
        request, "records/patient_history.html", {"opened": opened, "patient": patient, "rows": rows}
    )


@permission_required("records.rollback_patient", raise_exception=True)
@patient_page()
def patient_rollback(request: HttpRequest, opened: selectors.PatientView, history_id: int) -> HttpResponse:
    """Show what a rollback would change (now -> then) and ask why; the POST with a reason does it."""
    patient = opened.patient
    try:
        old, changes = selectors.rollback_preview(patient, history_id, HISTORY_FIELDS)
    except patient.history.model.DoesNotExist as exc:
        raise Http404("That version does not belong to this record.") from exc
    form = ReasonForm(request.POST or None)
    form.fields["reason"].label = "Reason for rolling back"
    version = posted_version(request) if request.method == "POST" else patient.version
    done = submitted(
        request,
        form,
        lambda data: services.patient_rollback(
            rolled_back_by=request.user,
            patient=patient,
            history_id=history_id,
            expected_version=version,
            reason=data["reason"],
        ),
    )
    if done is not NOT_DONE:
        messages.success(
            request, f"Details rolled back to version {old.version}; the rollback is kept as a new version."
        )
        return redirect("records:patient_history", patient.pk)
    return render(
        request,
        "records/rollback_confirm.html",
        {
            "opened": opened,
            "patient": patient,
            "old": old,
            "changes": changes,
            "form": form,
            "version": version,
        },
    )
