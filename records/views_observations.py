"""Observation pages: record a set, the NEWS2 chart, the SpO2 scale, and the alert list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from epr.parsing import parse_local_datetime
from records import chart, selectors, services
from records.access import Level, patient_access
from records.errors import RecordError
from records.forms import AcknowledgeForm, ObservationForm, SpO2ScaleForm
from records.models import ClinicalAlert
from records.news2 import VitalSignsError
from records.services.observations import result_of
from records.views import NOT_DONE, patient_form_page, patient_page, submitted


@patient_page(minimum=Level.CLINICAL)
def observations_record(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    if not request.user.has_perm("records.add_observationset"):
        raise PermissionDenied("You may not record observations.")
    form = ObservationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            obs = services.observation_set_record(
                recorded_by=request.user,
                patient=opened.patient,
                taken_at=form.cleaned_data["taken_at"],
                **form.values(),
            )
        except VitalSignsError as exc:
            for field, message in exc.errors.items():
                form.add_error(None if field == "__all__" else field, message)
        except RecordError as exc:
            form.add_error(None, exc.message)
        else:
            result = result_of(obs)
            if result is None:
                messages.success(request, "Observations saved. NEWS2 not scored: the set is incomplete.")
            else:
                level = "error" if result.escalation else "success"
                summary = f"NEWS2 {result.total} ({result.risk.value} risk). {result.monitoring}."
                getattr(messages, level)(request, f"{summary} {result.response}")
            return redirect("observation_chart", opened.patient.pk)
    scale = services.current_spo2_scale(opened.patient)
    return render(
        request,
        "records/observations_form.html",
        {"opened": opened, "patient": opened.patient, "form": form, "scale": scale},
    )


@patient_page(minimum=Level.CLINICAL)
def observation_chart(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    before = parse_local_datetime(request.GET.get("before", ""))  # a garbled value shows the latest
    sets = selectors.observation_sets(opened.patient, before=before)
    scale = services.current_spo2_scale(opened.patient)
    latest = result_of(sets[-1]) if sets else None
    return render(
        request,
        "records/observation_chart.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "sets": sets,
            "sections": chart.chart_sections(sets, scale=scale.scale if scale else 1),
            "scale": scale,
            "latest": latest,
            "older": sets[0].taken_at.isoformat() if len(sets) == 24 else "",
        },
    )


@patient_page(minimum=Level.CLINICAL)
def spo2_scale(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    if not request.user.has_perm("records.set_spo2_scale"):
        raise PermissionDenied("Only a doctor may choose the SpO2 scale.")
    form = SpO2ScaleForm(request.POST or None)
    done = submitted(
        request,
        form,
        lambda data: services.spo2_scale_set(set_by=request.user, patient=opened.patient, **data),
    )
    if done is not NOT_DONE:
        messages.success(request, f"SpO2 Scale {form.cleaned_data['scale']} set.")
        return redirect("observation_chart", opened.patient.pk)
    return patient_form_page(request, opened, form, title="Choose the SpO2 scale", button="Save")


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    alerts = list(selectors.alerts_for_user(request.user)[:200])
    services.alerts_mark_shown(user=request.user, alerts=alerts)
    recent = list(selectors.alerts_for_user(request.user, include_closed=True).exclude(status="open")[:50])
    selectors.audit_list_shown(
        request.user, listing="alerts", patient_ids=[a.patient_id for a in alerts + recent]
    )
    return render(
        request, "records/alerts.html", {"alerts": alerts, "recent": recent, "form": AcknowledgeForm()}
    )


@require_POST
@login_required
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(ClinicalAlert.objects.select_related("patient"), pk=alert_id)
    if (
        not request.user.has_perm("records.change_clinicalalert")
        or not patient_access(request.user, alert.patient).clinical
        or not selectors.alerts_for_user(request.user, include_closed=True).filter(pk=alert.pk).exists()
    ):
        raise PermissionDenied("This alert is not addressed to you.")
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            services.alert_acknowledge(alert=alert, user=request.user, **form.cleaned_data)
        except RecordError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Alert acknowledged.")
    return redirect("alert_list")
