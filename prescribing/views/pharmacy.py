"""The pharmacist's pages: the verification queue by ward, oldest first, and the review steps
(verify, annotate, query, reject) taken from the queue or the drug chart; the prescriber answers a
query on the chart, and sees their open queries on their own page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from epr.audit.models import Action
from epr.parsing import ascii_int
from prescribing.forms import ReviewForm
from prescribing.models import PharmacyAction
from prescribing.selectors import verification as selectors
from prescribing.services.verification import prescription_review
from prescribing.views.common import prescription_of
from records.access import Level, patients_with_care_relationship
from records.errors import RecordError
from records.selectors import patients as patient_selectors
from records.selectors import wards as ward_selectors
from records.selectors.patients import PatientView
from records.views.base import patient_page, posted_version

DONE = {
    PharmacyAction.VERIFIED: "verified",
    PharmacyAction.ANNOTATED: "annotated",
    PharmacyAction.QUERIED: "queried with the prescriber",
    PharmacyAction.REJECTED: "rejected",
    PharmacyAction.ANSWERED: "answered: it is back with the pharmacist",
}


@login_required
def verification_queue(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("prescribing.verify_prescription"):
        raise PermissionDenied("Only pharmacists verify prescriptions.")
    wards = ward_selectors.wards_to_choose(request.user)
    ward_id = ascii_int(request.GET.get("ward", ""))
    chosen = [w for w in wards if w.pk == ward_id] if ward_id else wards
    if ward_id and not chosen:
        raise PermissionDenied("You do not work on that ward.")
    items = selectors.verification_queue(chosen)
    cared = patients_with_care_relationship(request.user, list({i.prescription.patient for i in items}))
    items = [i for i in items if i.prescription.patient_id in cared]
    patient_selectors.audit_list_shown(
        request.user,
        listing="verification queue",
        patient_ids=sorted({i.prescription.patient_id for i in items}),
    )
    return render(
        request,
        "prescribing/verification_queue.html",
        {"wards": wards, "ward_id": ward_id, "items": items, "form": ReviewForm()},
    )


@login_required
def my_queries(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("prescribing.add_prescription"):
        raise PermissionDenied("Only prescribers have pharmacy queries.")
    queried = selectors.open_queries_for(request.user)
    cared = patients_with_care_relationship(request.user, list({p.patient for p in queried}))
    queried = [p for p in queried if p.patient_id in cared]
    patient_selectors.audit_list_shown(
        request.user, listing="pharmacy queries", patient_ids=sorted({p.patient_id for p in queried})
    )
    return render(request, "prescribing/my_queries.html", {"prescriptions": queried, "form": ReviewForm()})


def _may_take(request: HttpRequest, action: str) -> None:
    if action == PharmacyAction.ANSWERED:
        if not request.user.has_perm("prescribing.add_prescription"):
            raise PermissionDenied("Only a prescriber answers a pharmacist's query.")
    elif not request.user.has_perm("prescribing.verify_prescription"):
        raise PermissionDenied("Only pharmacists verify, annotate, query or reject prescriptions.")


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def prescription_review_step(request: HttpRequest, opened: PatientView, prescription_id: int) -> HttpResponse:
    prescription = prescription_of(opened, prescription_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That review step was not recognised.")
    else:
        action = form.cleaned_data["action"]
        _may_take(request, action)
        try:
            prescription_review(
                by=request.user,
                prescription=prescription,
                action=action,
                text=form.cleaned_data["text"],
                expected_version=posted_version(request),
            )
        except RecordError as exc:
            messages.error(request, f"{prescription.vmp.name}: {exc.message}")
        else:
            messages.success(
                request, f"{prescription.vmp.name} for {opened.patient.display_name} {DONE[action]}."
            )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("prescribing:drug_chart", opened.patient.pk)
