"""Observation pages: record a set, the NEWS2 chart, the SpO2 scale, and the alert list."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.parsing import parse_local_datetime
from records import services
from records.access import Level
from records.errors import AlreadySubmitted, RecordError
from records.forms.alerts import AlertAcknowledgeForm, AlertResponseForm, AlertReviewForm
from records.forms.observations import ObservationForm, SpO2ScaleForm
from records.models import ACTIVE_ALERT_STATUSES, AlertStatus, ClinicalAlert, EncounterStatus, ObservationSet
from records.registries.alerts import alert_kind
from records.rules import news2
from records.rules import patients as rules
from records.selectors import alerts as alert_selectors
from records.selectors import chart
from records.selectors import patients as selectors
from records.services.observation_alerts import observations_due_at
from records.views.base import NOT_DONE, patient_form_page, patient_page, refusal_on_form, submitted


@patient_page(minimum=Level.CLINICAL)
def observations_record(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    if not request.user.has_perm("records.add_observationset"):
        raise PermissionDenied("You may not record observations.")
    form = ObservationForm(request.POST or None, initial={"submission": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        try:
            obs = services.observation_set_record(
                recorded_by=request.user,
                patient=opened.patient,
                taken_at=form.cleaned_data["taken_at"],
                submission_key=form.cleaned_data["submission"],
                **form.values(),
            )
        except AlreadySubmitted as repeat:
            first = repeat.first
            messages.info(
                request,
                f"These observations were already saved at {timezone.localtime(first.recorded_at):%H:%M} "
                f"by {first.recorded_by}; they were not saved twice.",
            )
            return redirect("records:observation_chart", opened.patient.pk)
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            result = obs.news2_result
            if result is None:  # amber, not green: an unscored set is not the all-clear a score would be
                messages.warning(request, f"Observations saved. {chart.not_scored_reason(obs)}")
            else:
                level = "error" if result.escalation else "success"
                summary = f"NEWS2 {result.total} ({result.risk.value} risk). {result.monitoring}."
                alerted = _who_was_alerted(obs, result)
                getattr(messages, level)(request, f"{summary} {result.response}{alerted}")
            return redirect("records:observation_chart", opened.patient.pk)
    scale = services.current_spo2_scale(opened.patient)
    return render(
        request,
        "records/observations_form.html",
        {"opened": opened, "patient": opened.patient, "form": form, "scale": scale},
    )


def _who_was_alerted(obs: ObservationSet, result: news2.News2Result) -> str:
    """Say where the escalation went, so the nurse knows who now has it (and who does not)."""
    if result.escalation == news2.Escalation.NONE:
        return ""
    recipients = services.recipients_described(obs.encounter)
    if not recipients:
        return " No ward or team could be alerted: the patient is not admitted. Escalate in person."
    return f" Alert sent to {recipients}."


@patient_page(minimum=Level.CLINICAL)
def observation_chart(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    before = parse_local_datetime(request.GET.get("before", ""))  # a garbled value shows the latest
    sets = selectors.observation_sets(opened.patient, before=before)
    scale = services.current_spo2_scale(opened.patient)
    # An incomplete set has no score: the last one that has keeps showing, with the frequency it set.
    scored = selectors.latest_scored_set(opened.patient)
    unscored = sets[-1] if sets and before is None and sets[-1] != scored else None
    columns = chart.chart_columns(sets)
    now = timezone.localtime()
    return render(
        request,
        "records/observation_chart.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "sets": sets,
            "columns": columns,
            "sections": chart.chart_sections(sets, scale=scale.scale if scale else 1, columns=columns),
            "scale": scale,
            "scored": scored,
            "latest": scored.news2_result if scored else None,
            "scored_when": rules.describe_moment(scored.taken_at, now=now) if scored else "",
            "latest_unscored": unscored,
            "unscored_when": rules.describe_moment(unscored.taken_at, now=now) if unscored else "",
            "unscored_missing": chart.missing_of(unscored) if unscored else "",
            "due": _due_line(opened, sets[-1] if sets else None, scored, now) if before is None else None,
            "older": sets[0].taken_at.isoformat() if len(sets) == 24 else "",
        },
    )


def _due_line(
    opened: selectors.PatientView, newest: ObservationSet | None, scored: ObservationSet | None, now: datetime
) -> chart.DueLine | None:
    """When observations are due, for an inpatient only: as the overdue alert reckons it, from the last
    scored set (an incomplete set does not restart the clock), or from the admission before any."""
    encounter = opened.current_stay.encounter if opened.current_stay else None
    if encounter is None or encounter.status != EncounterStatus.ACTIVE:
        return None
    return chart.due_line(
        last_taken_at=scored.taken_at if scored else None,
        due_at=observations_due_at(encounter, scored),
        now=now,
        later_unscored=newest is not None and newest != scored,
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
        return redirect("records:observation_chart", opened.patient.pk)
    return patient_form_page(request, opened, form, title="Choose the SpO2 scale", button="Save")


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    rows = alert_selectors.alert_rows(request.user)
    alerts = [row.alert for row in rows]
    services.alerts_mark_shown(user=request.user, alerts=alerts)
    recent = list(
        alert_selectors.alerts_for_user(request.user, include_closed=True)
        .exclude(status__in=ACTIVE_ALERT_STATUSES)
        .order_by("-acknowledged_at", "-pk")[:50]
    )
    selectors.audit_list_shown(
        request.user, listing="alerts", patient_ids=[a.patient_id for a in alerts + recent]
    )
    return render(request, "records/alerts.html", {"rows": rows, "recent": recent, "now": timezone.now()})


def _alert_form(alert: ClinicalAlert, user, data=None):
    if alert.status == AlertStatus.ESCALATED:
        return AlertReviewForm(data, reviewer=user.get_full_name() or user.username)
    if alert_kind(alert.kind).response_required:
        return AlertResponseForm(data)
    return AlertAcknowledgeForm(data)


@login_required
def alert_respond(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert with its history and the answer it is waiting for (a response, or the review)."""
    try:
        alert = alert_selectors.alert_for_user(request.user, alert_id)
    except ClinicalAlert.DoesNotExist as exc:
        audit_record(user=request.user, action=Action.DENIED, detail={"alert": alert_id})
        raise PermissionDenied("This alert is not addressed to you.") from exc
    opened = selectors.patient_for_user(request.user, alert.patient_id, minimum=Level.CLINICAL)
    can_answer = alert.is_active and request.user.has_perm("records.change_clinicalalert")
    form = _alert_form(alert, request.user, request.POST or None) if can_answer else None
    if request.method == "POST":
        if form is None:
            audit_record(user=request.user, action=Action.DENIED, patient_id=alert.patient_id, obj=alert)
            raise PermissionDenied("You may not answer this alert.")
        if form.is_valid() and _answer(request, alert, form):
            return redirect("records:alert_list")
    triggers, events = alert_selectors.alert_history(alert)
    return render(
        request,
        "records/alert_respond.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "alert": alert,
            "form": form,
            "triggers": triggers,
            "events": events,
            "now": timezone.now(),
            "escalated": alert.status == AlertStatus.ESCALATED,
        },
    )


def _answer(request: HttpRequest, alert: ClinicalAlert, form) -> bool:
    try:
        if isinstance(form, AlertReviewForm):
            services.alert_record_review(alert=alert, user=request.user, **form.cleaned_data)
            messages.success(request, f"Review recorded for {alert.patient.display_name}.")
        else:
            done = services.alert_acknowledge(alert=alert, user=request.user, **form.cleaned_data)
            if done.status == AlertStatus.ESCALATED:
                messages.success(
                    request,
                    f"Response recorded. The alert stays on the list, escalated and awaiting review by "
                    f"{done.informed}.",
                )
            else:
                messages.success(request, f"Alert for {alert.patient.display_name} answered.")
    except RecordError as exc:
        refusal_on_form(form, exc)
        return False
    return True
