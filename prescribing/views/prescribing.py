"""Prescribing pages: choose a medicine, write the prescription (answering the checks it raises),
stop it; the drug chart that shows them all."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.audit.models import Action
from prescribing.forms import (
    ROUND_TIMES,
    AntimicrobialReviewForm,
    MedicineSearchForm,
    PrescribeForm,
    ReviewForm,
    StopForm,
)
from prescribing.models import VMP, OrderSentence, Prescription, PrescriptionKind
from prescribing.rules.antimicrobials import Decision
from prescribing.selectors import catalogue as catalogue_selectors
from prescribing.selectors import charts
from prescribing.services import antimicrobials
from prescribing.services import prescriptions as services
from prescribing.views.common import prescription_of
from records.access import Level
from records.errors import RecordError
from records.selectors.patients import PatientView, latest_weight
from records.views.base import patient_page, posted_version, refusal_on_form, require_perm


def _day(request: HttpRequest) -> date:
    """The day asked for, else today; a day at the calendar's ends (no day before or after) is today."""
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return timezone.localdate()
    return day if date.min < day < date.max else timezone.localdate()


@patient_page(minimum=Level.CLINICAL)
def drug_chart(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, "prescribing.view_prescription", "Your role does not see medicines.")
    day = _day(request)
    rows = charts.drug_chart(opened.patient, day)
    return render(
        request,
        "prescribing/drug_chart.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "rows": rows,
            "day": day,
            "previous_day": day.fromordinal(day.toordinal() - 1),
            "next_day": day.fromordinal(day.toordinal() + 1),
            "today": timezone.localdate(),
            "review_form": ReviewForm(),
            "decisions": list(Decision.LABELS.items()),
        },
    )


@patient_page(minimum=Level.CLINICAL)
def medicine_choose(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, "prescribing.add_prescription", "Only prescribers may prescribe.")
    form = MedicineSearchForm(request.GET or None)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    return render(
        request,
        "prescribing/medicine_choose.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "form": form,
            "text": text,
            "matches": catalogue_selectors.medicine_matches(text),
            "too_short": 0 < len(text.strip()) < catalogue_selectors.SEARCH_MIN_LENGTH,
        },
    )


def _sentence_initial(vmp: VMP, request: HttpRequest) -> dict[str, Any]:
    chosen = next((s for s in vmp.order_sentences.all() if str(s.pk) == request.GET.get("sentence")), None)
    if chosen is None:
        return {"kind": PrescriptionKind.REGULAR}
    return _from_sentence(chosen)


def _from_sentence(sentence: OrderSentence) -> dict[str, Any]:
    hours = sentence.min_interval_minutes / 60 if sentence.min_interval_minutes else None
    return {
        "kind": sentence.kind,
        "dose_value": sentence.dose_value.normalize(),
        "dose_unit": sentence.dose_unit,
        "route": sentence.route,
        "times_of_day": sentence.times_of_day,
        "min_interval_hours": hours,
        "max_doses_in_24_hours": sentence.max_doses_in_24_hours,
    }


def _medicine(vmp_id: int) -> VMP:
    try:
        return catalogue_selectors.medicine_to_prescribe(vmp_id)
    except VMP.DoesNotExist as exc:
        raise Http404("No such medicine") from exc


def _prescribe_page(
    request: HttpRequest,
    opened: PatientView,
    vmp: VMP,
    *,
    initial: dict[str, Any],
    write: Callable[[PrescribeForm], Prescription],
    changing: Prescription | None = None,
) -> HttpResponse:
    """The prescribing form for one product, its checks shown as soon as it is chosen and again on
    saving (the dose may raise more), for a new prescription or one replacing `changing`."""
    pending = services.findings_for(opened.patient, vmp, replacing=changing)
    routes = vmp.route_names or ["Oral"]
    form = PrescribeForm(
        request.POST or None, routes=routes, pending=pending, initial=initial, changing=changing
    )
    if request.method == "POST" and form.is_valid():
        try:
            prescription = write(form)
        except services.ChecksNeedAnswers as exc:
            pending = exc.pending
            form = PrescribeForm(request.POST, routes=routes, pending=pending, changing=changing)
            form.is_valid()
            for item in pending:
                if not form.answers().get(item.key):
                    form.add_error(
                        f"answer_{item.key}",
                        "Give a reason to prescribe despite this, or choose another medicine.",
                    )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            done = "changed" if changing else "prescribed"
            messages.success(request, f"{prescription.vmp.name} {done}. It awaits pharmacist verification.")
            return redirect("prescribing:drug_chart", opened.patient.pk)
    context = {
        "opened": opened,
        "patient": opened.patient,
        "form": form,
        "vmp": vmp,
        "pending": pending,
        "weight": latest_weight(opened.patient),
        "changing": changing,
    }
    return render(request, "prescribing/prescribe.html", context)


@patient_page(minimum=Level.CLINICAL)
def prescribe(request: HttpRequest, opened: PatientView, vmp_id: int) -> HttpResponse:
    require_perm(request, "prescribing.add_prescription", "Only prescribers may prescribe.")
    vmp = _medicine(vmp_id)

    def write(form: PrescribeForm) -> Prescription:
        return services.prescription_create(
            prescribed_by=request.user,
            patient=opened.patient,
            vmp=vmp,
            answers=form.answers(),
            encounter=opened.current_stay.encounter if opened.current_stay else None,
            **form.values(),
        )

    return _prescribe_page(request, opened, vmp, initial=_sentence_initial(vmp, request), write=write)


def _steps_text(prescription: Prescription) -> str:
    """A stepped course back as the form takes it: "40 for 5 days", one step a line."""
    froms = [date.fromisoformat(step["from"]) for step in prescription.dose_steps]
    last = timezone.localdate(prescription.ends_at) if prescription.ends_at else None
    lines = []
    for i, step in enumerate(prescription.dose_steps):
        following = froms[i + 1] if i + 1 < len(froms) else last
        days = (following - froms[i]).days if following else 1
        lines.append(f"{Decimal(step['dose']).normalize():f} for {days} days")
    return "\n".join(lines)


def _as_it_is(prescription: Prescription) -> dict[str, Any]:
    hours = prescription.min_interval_minutes / 60 if prescription.min_interval_minutes else None
    standard = [t for t in prescription.times_of_day if t in ROUND_TIMES]
    return {
        "kind": prescription.kind,
        "dose_value": None
        if prescription.dose_per_kg or prescription.dose_steps
        else prescription.dose_value.normalize(),
        "dose_steps": _steps_text(prescription) if prescription.dose_steps else "",
        "dose_per_kg": prescription.dose_per_kg.normalize() if prescription.dose_per_kg else None,
        "dose_unit": prescription.dose_unit,
        "route": prescription.route,
        "times_of_day": standard,
        "other_times": ", ".join(t for t in prescription.times_of_day if t not in standard),
        "min_interval_hours": hours,
        "max_doses_in_24_hours": prescription.max_doses_in_24_hours,
        "indication": prescription.indication,
        "ends_at": None if prescription.dose_steps else prescription.ends_at,  # a course's end is its steps'
        "review_on": prescription.review_on,
        "setting": prescription.setting,
        "notes_for_administration": prescription.notes_for_administration,
        "diluent": prescription.diluent,
        "infusion_volume_ml": prescription.infusion_volume_ml,
        "infusion_rate_ml_per_hour": prescription.infusion_rate_ml_per_hour,
        "infusion_minutes": prescription.infusion_minutes,
        "version": prescription.version,
    }


@patient_page(minimum=Level.CLINICAL)
def prescription_change(request: HttpRequest, opened: PatientView, prescription_id: int) -> HttpResponse:
    """Change a prescription the one way it changes: stop it and write the new one in its place."""
    require_perm(request, "prescribing.add_prescription", "Only prescribers may change a prescription.")
    current = prescription_of(opened, prescription_id)
    if not current.may_be_given:
        messages.error(request, f"{current.vmp.name} is not active: prescribe it again instead.")
        return redirect("prescribing:drug_chart", opened.patient.pk)
    vmp = _medicine(current.vmp_id)

    def write(form: PrescribeForm) -> Prescription:
        values = form.values()
        values.pop("starts_at", None)  # the new one starts now, as the old one stops
        return services.prescription_replace(
            prescribed_by=request.user,
            prescription=current,
            reason=f"Changed: {form.cleaned_data['change_reason']}",
            expected_version=posted_version(request),
            vmp=vmp,
            amp=current.amp,
            encounter=current.encounter,
            answers=form.answers(),
            **values,
        )

    return _prescribe_page(request, opened, vmp, initial=_as_it_is(current), write=write, changing=current)


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def prescription_stop(request: HttpRequest, opened: PatientView, prescription_id: int) -> HttpResponse:
    require_perm(request, "prescribing.stop_prescription", "Only prescribers may stop a prescription.")
    prescription = prescription_of(opened, prescription_id)
    form = StopForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the prescription is stopped.")
    else:
        try:
            services.prescription_stop(
                stopped_by=request.user,
                prescription=prescription,
                reason=form.cleaned_data["reason"],
                expected_version=posted_version(request),
            )
        except RecordError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{prescription.vmp.name} stopped.")
    return redirect("prescribing:drug_chart", opened.patient.pk)


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def antimicrobial_review(request: HttpRequest, opened: PatientView, prescription_id: int) -> HttpResponse:
    require_perm(request, "prescribing.add_prescription", "Only prescribers review antimicrobials.")
    prescription = prescription_of(opened, prescription_id)
    form = AntimicrobialReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the decision of the review (and the next review date to continue).")
        return redirect("prescribing:drug_chart", opened.patient.pk)
    try:
        review = antimicrobials.antimicrobial_review_record(
            reviewed_by=request.user,
            prescription=prescription,
            decision=form.cleaned_data["decision"],
            next_review_on=form.cleaned_data["next_review_on"],
            note=form.cleaned_data["note"],
            expected_version=posted_version(request),
        )
    except RecordError as exc:
        messages.error(request, f"{prescription.vmp.name}: {exc.message}")
    else:
        messages.success(
            request, f"{prescription.vmp.name}: review recorded ({review.get_decision_display()})."
        )
    return redirect("prescribing:drug_chart", opened.patient.pk)
