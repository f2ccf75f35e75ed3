"""The resuscitation and treatment escalation page (the current decision, its history, a new decision),
and the expected date of discharge."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from records import services
from records.access import Level
from records.errors import RecordError
from records.forms.escalation import EscalationPlanForm, ExpectedDischargeForm
from records.models import TreatmentEscalationPlan
from records.selectors import patients as selectors
from records.selectors import wards as ward_selectors
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    refusal_on_form,
    require_perm,
    strike_through_posted,
    submitted,
)


@patient_page(minimum=Level.CLINICAL)
def escalation_plan(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    can_record = request.user.has_perm("records.add_treatmentescalationplan")
    form = EscalationPlanForm(request.POST or None) if can_record else None
    if request.method == "POST":
        require_perm(request, "records.add_treatmentescalationplan", "Only a doctor records this decision.")
        if form.is_valid():
            try:
                services.escalation_plan_record(
                    recorded_by=request.user, patient=opened.patient, **form.cleaned_data
                )
            except RecordError as exc:
                refusal_on_form(form, exc)
            else:
                messages.success(request, "Resuscitation and treatment escalation decision recorded.")
                return redirect("records:escalation_plan", opened.patient.pk)
    plans = list(
        TreatmentEscalationPlan.objects.filter(patient=opened.patient)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-pk")
    )
    return render(
        request,
        "records/escalation_plan.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "form": form,
            "current": ward_selectors.current_plan(opened.patient),
            "plans": plans,
        },
    )


@require_POST
@patient_page(minimum=Level.CLINICAL)
def escalation_plan_error(request: HttpRequest, opened: selectors.PatientView, plan_id: int) -> HttpResponse:
    require_perm(request, "records.change_treatmentescalationplan")
    plan = get_object_or_404(TreatmentEscalationPlan, pk=plan_id, patient=opened.patient)
    strike_through_posted(
        request,
        lambda reason, version: services.escalation_plan_mark_error(
            marked_by=request.user, plan=plan, reason=reason, expected_version=version
        ),
        what="decision",
    )
    return redirect("records:escalation_plan", opened.patient.pk)


@patient_page(minimum=Level.CLINICAL)
def expected_discharge(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    require_perm(request, "records.change_patient", "Your role may not set the expected discharge date.")
    stay = opened.current_stay
    if stay is None:
        messages.error(request, "The patient is not in hospital.")
        return redirect("records:patient_detail", opened.patient.pk)
    encounter = stay.encounter
    form = ExpectedDischargeForm(
        request.POST or None,
        initial={"version": encounter.version, "expected": encounter.expected_discharge_date},
    )
    done = submitted(
        request,
        form,
        lambda data: services.encounter_set_expected_discharge(
            set_by=request.user,
            encounter=encounter,
            expected=data["expected"],
            expected_version=data["version"],
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, "Expected discharge date saved.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(request, opened, form, title="Expected date of discharge", button="Save")
