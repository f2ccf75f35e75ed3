"""Allergy and problem pages, and the terminology picker."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from epr.terminology.selectors import concept_matches
from records import services
from records.access import Level
from records.errors import RecordError
from records.forms.clinical import (
    AllergyAmendForm,
    AllergyForm,
    ProblemAmendForm,
    ProblemForm,
    amended_values,
)
from records.models import AllergyIntolerance, Problem
from records.selectors import clinical as clinical_selectors
from records.selectors import patients as selectors
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    require_perm,
    strike_through_posted,
    submitted,
)

ENTRY_TYPES = {
    "allergies": (
        AllergyIntolerance,
        AllergyAmendForm,
        "records.change_allergyintolerance",
        "records:allergy_list",
    ),
    "problems": (Problem, ProblemAmendForm, "records.change_problem", "records:problem_list"),
}


@login_required
def terminology_search(request: HttpRequest) -> HttpResponse:
    """The combobox's options (static/js/combobox.js) for what has been typed, within a picker subset."""
    text = next(
        (request.GET[k] for k in ("q", "substance_search", "problem_search") if request.GET.get(k)), ""
    )
    matches = concept_matches(text=text[:100], subset=request.GET.get("subset", "")[:30])
    return render(request, "records/partials/concept_options.html", {"matches": matches})


@patient_page(minimum=Level.CLINICAL)
def allergy_list(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    return render(
        request,
        "records/allergies.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "entries": clinical_selectors.allergies_of(opened.patient),
        },
    )


@patient_page(minimum=Level.CLINICAL)
def allergy_new(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    require_perm(request, "records.add_allergyintolerance")
    form = AllergyForm(request.POST or None)
    done = submitted(
        request,
        form,
        lambda _: services.allergy_record(recorded_by=request.user, patient=opened.patient, **form.values()),
    )
    if done is not NOT_DONE:
        messages.success(request, "Allergy recorded.")
        return redirect("records:allergy_list", opened.patient.pk)
    return patient_form_page(
        request, opened, form, title="Record an allergy or intolerance", button="Save allergy"
    )


@require_POST
@patient_page(minimum=Level.CLINICAL)
def allergy_none_known(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    require_perm(request, "records.add_allergyintolerance")
    try:
        services.allergy_record_none_known(recorded_by=request.user, patient=opened.patient)
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "No known allergies recorded.")
    return redirect("records:allergy_list", opened.patient.pk)


@patient_page(minimum=Level.CLINICAL)
def problem_list(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    return render(
        request,
        "records/problems.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "entries": clinical_selectors.problems_of(opened.patient),
        },
    )


@patient_page(minimum=Level.CLINICAL)
def problem_new(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    require_perm(request, "records.add_problem")
    form = ProblemForm(request.POST or None)
    done = submitted(
        request,
        form,
        lambda _: services.problem_record(recorded_by=request.user, patient=opened.patient, **form.values()),
    )
    if done is not NOT_DONE:
        messages.success(request, "Problem recorded.")
        return redirect("records:problem_list", opened.patient.pk)
    return patient_form_page(
        request, opened, form, title="Record a problem or diagnosis", button="Save problem"
    )


def _entry(kind: str, patient_id: int, entry_id: int):
    if kind not in ENTRY_TYPES:
        raise Http404
    model = ENTRY_TYPES[kind][0]
    entry = model._default_manager.filter(pk=entry_id, patient_id=patient_id).first()
    if entry is None:
        raise Http404("No such entry for this patient.")
    return entry


@patient_page(minimum=Level.CLINICAL)
def entry_amend(
    request: HttpRequest, opened: selectors.PatientView, kind: str, entry_id: int
) -> HttpResponse:
    entry = _entry(kind, opened.patient.pk, entry_id)
    _, form_class, perm, back = ENTRY_TYPES[kind]
    require_perm(request, perm)
    form = form_class(
        request.POST or None,
        instance=None if request.method == "POST" else entry,
        initial={"version": entry.version},
    )
    done = submitted(
        request,
        form,
        lambda data: services.entry_amend(
            amended_by=request.user,
            entry=entry,
            expected_version=data["version"],
            changes=amended_values(form),
            reason=data["reason"],
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, "Entry amended; the earlier version is kept in its history.")
        return redirect(back, opened.patient.pk)
    return patient_form_page(request, opened, form, title=f"Amend: {entry}", button="Save")


@require_POST
@patient_page(minimum=Level.CLINICAL)
def entry_mark_error(
    request: HttpRequest, opened: selectors.PatientView, kind: str, entry_id: int
) -> HttpResponse:
    entry = _entry(kind, opened.patient.pk, entry_id)
    _, _, perm, back = ENTRY_TYPES[kind]
    require_perm(request, perm)
    strike_through_posted(
        request,
        lambda reason, version: services.entry_mark_error(
            marked_by=request.user, entry=entry, reason=reason, expected_version=version
        ),
    )
    return redirect(back, opened.patient.pk)
