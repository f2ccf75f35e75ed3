"""Care plan pages, the patient-readable PDF, and the team's overdue reviews."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.accounts.models import User
from epr.accounts.roles import CLINICAL_ROLES
from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.forms import DateInput, NHSFormMixin
from records import documents, services
from records.access import Level
from records.errors import RecordError
from records.forms.patients import ReasonForm
from records.models import CarePlan, Problem, Team
from records.selectors import clinical as clinical_selectors
from records.selectors import patients as selectors
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    posted_version,
    require_perm,
    submitted,
)


class CarePlanForm(NHSFormMixin, forms.ModelForm):
    class Meta:
        model = CarePlan
        fields = ["need", "problem", "goals", "interventions", "responsible", "team", "review_date"]
        widgets = {
            "review_date": DateInput,
            "goals": forms.Textarea(attrs={"rows": 3}),
            "interventions": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {
            "need": "Problem or need",
            "responsible": "Responsible person",
            "problem": "Linked coded problem",
        }

    def __init__(self, *args, patient, stored: CarePlan | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stored = stored
        problems = Q(patient=patient, status="final")
        people = Q(role__in=CLINICAL_ROLES, is_active=True)
        if stored is not None:
            # The plan's own choices stay in the lists (a problem since struck through, a person who
            # has left): otherwise the select shows "---------" and an untouched save unlinks them.
            problems |= Q(pk=stored.problem_id)
            people |= Q(pk=stored.responsible_id)
        self.fields["problem"].queryset = Problem.objects.filter(problems)
        self.fields["responsible"].queryset = User.objects.filter(people)
        self.fields["team"].queryset = Team.objects.all()

    def values(self) -> dict:
        """The fields to save; when editing, only those that differ from the stored plan, so an
        untouched review date that has passed (an overdue plan) is not checked again as new."""
        values = {f: self.cleaned_data[f] for f in self._meta.fields}
        if self.stored is None:
            return values
        return {f: v for f, v in values.items() if getattr(self.stored, f) != v}


class ReviewForm(NHSFormMixin, forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    next_review_date = forms.DateField(required=False, widget=DateInput)
    complete = forms.BooleanField(required=False, label="Goals met: complete the plan")


def _plan(opened: selectors.PatientView, plan_id: int) -> CarePlan:
    plan = CarePlan.objects.filter(pk=plan_id, patient=opened.patient).select_related("patient").first()
    if plan is None:
        raise Http404("No such care plan for this patient.")
    return plan


@patient_page(minimum=Level.CLINICAL)
def careplan_list(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    plans = clinical_selectors.careplans_of(opened.patient)
    for plan in plans:  # one review form each, with its own ids, so each label names its own box
        plan.review_form = ReviewForm(auto_id=f"id_plan{plan.pk}_%s")
    return render(
        request,
        "records/careplans.html",
        {"opened": opened, "patient": opened.patient, "plans": plans, "today": timezone.localdate()},
    )


@patient_page(minimum=Level.CLINICAL)
def careplan_new(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    require_perm(request, "records.add_careplan", "Your role may not change care plans.")
    form = CarePlanForm(request.POST or None, patient=opened.patient, initial={"responsible": request.user})
    done = submitted(
        request,
        form,
        lambda _: services.careplan_create(created_by=request.user, patient=opened.patient, **form.values()),
    )
    if done is not NOT_DONE:
        messages.success(request, "Care plan created.")
        return redirect("records:careplan_list", opened.patient.pk)
    return patient_form_page(request, opened, form, title="New care plan", button="Save")


@patient_page(minimum=Level.CLINICAL)
def careplan_edit(request: HttpRequest, opened: selectors.PatientView, plan_id: int) -> HttpResponse:
    require_perm(request, "records.change_careplan", "Your role may not change care plans.")
    plan = _plan(opened, plan_id)
    form = CarePlanForm(
        request.POST or None,
        instance=None if request.method == "POST" else plan,
        patient=opened.patient,
        stored=plan,
    )
    version = posted_version(request) if request.method == "POST" else plan.version
    done = submitted(
        request,
        form,
        lambda _: services.careplan_update(
            updated_by=request.user,
            plan=plan,
            expected_version=version,
            changes=form.values(),
            reason=request.POST.get("reason", ""),
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, "Care plan updated.")
        return redirect("records:careplan_list", opened.patient.pk)
    return patient_form_page(
        request,
        opened,
        form,
        title="Edit care plan",
        button="Save",
        template="records/careplan_edit.html",
        version=version,
        plan=plan,
    )


@require_POST
@patient_page(minimum=Level.CLINICAL)
def careplan_review(request: HttpRequest, opened: selectors.PatientView, plan_id: int) -> HttpResponse:
    require_perm(request, "records.review_careplan", "Your role may not change care plans.")
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Record the outcome of the review.")
    else:
        try:
            services.careplan_review(
                reviewed_by=request.user,
                plan=_plan(opened, plan_id),
                expected_version=posted_version(request),
                **form.cleaned_data,
            )
        except RecordError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Review recorded.")
    return redirect("records:careplan_list", opened.patient.pk)


@require_POST
@patient_page(minimum=Level.CLINICAL)
def careplan_error(request: HttpRequest, opened: selectors.PatientView, plan_id: int) -> HttpResponse:
    require_perm(request, "records.change_careplan", "Your role may not change care plans.")
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.careplan_mark_error(
                marked_by=request.user,
                plan=_plan(opened, plan_id),
                reason=form.cleaned_data["reason"],
                expected_version=posted_version(request),
            )
        except RecordError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "Give the reason.")
    return redirect("records:careplan_list", opened.patient.pk)


@patient_page(minimum=Level.CLINICAL)
def careplan_pdf(request: HttpRequest, opened: selectors.PatientView, plan_id: int) -> HttpResponse:
    plan = _plan(opened, plan_id)
    audit_record(
        user=request.user, action=Action.EXPORT, patient_id=plan.patient_id, obj=plan, channel=Channel.EXPORT
    )
    response = HttpResponse(documents.careplan_pdf(plan), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="care-plan-{plan.pk}.pdf"'
    return response


@login_required
def careplans_overdue(request: HttpRequest) -> HttpResponse:
    plans = clinical_selectors.overdue_careplans_for(request.user)
    selectors.audit_list_shown(
        request.user, listing="care plans overdue", patient_ids=[p.patient_id for p in plans]
    )
    return render(request, "records/careplans_overdue.html", {"plans": plans})
