"""Managers' pages: the bed state of every ward, who accessed a record, the break-glass review.
Thin: parse, check, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from epr.audit.selectors import access_log_page, access_log_usernames
from epr.parsing import ascii_int
from records.errors import RecordError
from records.forms.manager import AccessLogFilterForm, BreakGlassReviewForm
from records.selectors import manager as selectors_manager
from records.selectors import patients as selectors
from records.services.access import break_glass_review as record_break_glass_review
from records.views.base import patient_page, refusal_on_form

BREAK_GLASS_LIST_LIMIT = 500


@login_required
@permission_required("records.view_ward", raise_exception=True)
def bed_state(request: HttpRequest) -> HttpResponse:
    """Beds, free beds, patients, admissions and discharges today on every ward; counts only, so
    there is no patient to audit."""
    return render(request, "records/bed_state.html", {"sites": selectors_manager.bed_state()})


@permission_required("audit.view_patient_access_log", raise_exception=True)
@patient_page()
def patient_access_log(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    ids = selectors.merged_ids(opened.patient)
    form = AccessLogFilterForm(request.GET or None, usernames=access_log_usernames(ids))
    log = access_log_page(
        ids, filters=form.filters(), page_number=ascii_int(request.GET.get("page", "")) or 1
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "records/access_log.html",
        {"opened": opened, "patient": opened.patient, "form": form, "log": log, "query": query.urlencode()},
    )


@login_required
@permission_required("records.view_breakglassaccess", raise_exception=True)
def break_glass_review(request: HttpRequest) -> HttpResponse:
    uses = list(selectors_manager.break_glass_uses()[:BREAK_GLASS_LIST_LIMIT])
    # The list shows each patient's name and NHS number: a read of each of them.
    selectors.audit_list_shown(
        request.user, listing="break-glass review", patient_ids=[u.patient_id for u in uses]
    )
    return render(
        request,
        "records/break_glass_review.html",
        {"uses": uses, "limit": BREAK_GLASS_LIST_LIMIT, "pending": sum(1 for u in uses if not u.reviewed_at)},
    )


@login_required
@permission_required("records.change_breakglassaccess", raise_exception=True)
def break_glass_review_use(request: HttpRequest, use_id: int) -> HttpResponse:
    use = selectors_manager.break_glass_use(use_id)
    if use is None:
        raise Http404("No such break-glass use.")
    form = BreakGlassReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record_break_glass_review(reviewed_by=request.user, use=use, **form.cleaned_data)
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(
                request, f"Review recorded for {use.user}'s access to {use.patient.display_name}."
            )
            return redirect("records:break_glass_review")
    selectors.audit_list_shown(request.user, listing="break-glass review", patient_ids=[use.patient_id])
    return render(request, "records/break_glass_review_use.html", {"use": use, "form": form})
