"""Emergency (break-glass) access to a record without a care relationship: a stated reason, time-limited
and reviewed."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from records import services
from records.errors import RecordError
from records.forms.patients import (
    BreakGlassForm,
)
from records.models import (
    Patient,
)
from records.views.base import refusal_on_form


@require_POST
@login_required
def break_glass(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    if not getattr(request.user, "is_clinical", False):  # signed in: login_required
        raise PermissionDenied("Only clinical staff may use break-glass access.")
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            services.break_glass_start(user=request.user, patient=patient, reason=form.cleaned_data["reason"])
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            return redirect("records:patient_detail", patient.pk)
    return render(
        request,
        "records/no_relationship.html",
        {"patient": patient, "form": form, "can_break_glass": True},
        status=400,
    )
