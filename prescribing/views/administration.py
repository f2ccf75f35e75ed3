"""The bedside: the administration screen (scan the wristband, scan the medicine, record the dose),
recording a dose not given, and the ward's medication round."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from epr.parsing import ascii_int
from prescribing import policy
from prescribing.forms import AdministerForm, NotGivenForm
from prescribing.models import Prescription
from prescribing.selectors import charts
from prescribing.services import administration as services
from prescribing.views.common import prescription_of
from records.access import Level, patients_with_care_relationship
from records.errors import RecordError
from records.selectors import patients as patient_selectors
from records.selectors import wards as ward_selectors
from records.selectors.patients import PatientView
from records.views.base import patient_page, refusal_on_form, require_perm


def _may_administer(request: HttpRequest) -> None:
    require_perm(request, "prescribing.add_administration", "Your role may not give medicines.")


def _due(request: HttpRequest) -> datetime | None:
    text = request.POST.get("due", "") or request.GET.get("due", "")
    text = text.strip().replace(" ", "+")  # a "+" of the offset left unencoded in a link arrives as a space
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _witness(request: HttpRequest, form: AdministerForm) -> object | None:
    username = form.cleaned_data.get("witness_username", "").strip()
    if not username:
        return None
    witness = authenticate(request, username=username, password=form.cleaned_data.get("witness_password", ""))
    if witness is None:
        raise RecordError("The witness's username or password is not right.", field="witness_username")
    return witness


def _context(
    opened: PatientView, prescription: Prescription, due_at: datetime | None, **extra: object
) -> dict[str, object]:
    recent = (
        prescription.administrations.filter(outcome="given", at__gte=timezone.now() - timedelta(hours=24))
        .exclude(status="entered-in-error")
        .select_related("recorded_by")
        .order_by("-at")
    )
    return {
        "opened": opened,
        "patient": opened.patient,
        "prescription": prescription,
        "due_at": due_at,
        "recent": list(recent[:12]),
        "dose_due": prescription.dose_on(timezone.localdate(due_at or timezone.now())),
        "cd_schedule": policy.cd_schedule(prescription.vmp.controlled_drug_category),
        **extra,
    }


@patient_page(minimum=Level.CLINICAL)
def administer(request: HttpRequest, opened: PatientView, prescription_id: int) -> HttpResponse:
    _may_administer(request)
    prescription = prescription_of(opened, prescription_id)
    due_at = _due(request)
    needs_witness = policy.needs_witness(prescription.vmp.controlled_drug_category)
    refusals: list[services.bedside.Refusal] = []
    if request.method == "POST":
        # The override boxes shown are the ones the last attempt raised, carried in the post.
        codes = request.POST.getlist("raised")
        refusals = [services.bedside.Refusal(c, request.POST.get(f"raised_{c}", ""), True) for c in codes]
    form = AdministerForm(
        request.POST or None,
        refusals=refusals,
        needs_witness=needs_witness,
        initial={"submission": uuid.uuid4().hex},
    )
    if request.method == "POST" and form.is_valid():
        try:
            given = services.administration_give(
                given_by=request.user,
                prescription=prescription,
                due_at=due_at,
                wristband=form.cleaned_data["wristband"],
                pack=form.cleaned_data["pack"],
                overrides=form.overrides(),
                typed_reason=form.cleaned_data["typed_reason"],
                witness=_witness(request, form) if needs_witness else None,
                submission_key=form.cleaned_data["submission"],
            )
        except services.AlreadyRecorded as repeat:
            messages.info(request, repeat.message)
            return redirect("prescribing:drug_chart", opened.patient.pk)
        except services.AdministrationRefused as refused:
            form = AdministerForm(request.POST, refusals=refused.refusals, needs_witness=needs_witness)
            form.is_valid()
            return render(
                request,
                "prescribing/administer.html",
                _context(opened, prescription, due_at, form=form, refusals=refused.refusals),
                status=200,
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            batch = (
                f" Batch {given.batch}, expiry {given.expiry:%d-%b-%Y}."
                if given.batch and given.expiry
                else ""
            )
            messages.success(
                request,
                f"{prescription.vmp.name} {prescription.dose_text} given.{batch}",
            )
            return redirect("prescribing:drug_chart", opened.patient.pk)
    return render(
        request,
        "prescribing/administer.html",
        _context(opened, prescription, due_at, form=form, refusals=refusals),
    )


@patient_page(minimum=Level.CLINICAL)
def not_given(request: HttpRequest, opened: PatientView, prescription_id: int) -> HttpResponse:
    _may_administer(request)
    prescription = prescription_of(opened, prescription_id)
    due_at = _due(request)
    form = NotGivenForm(request.POST or None, initial={"submission": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        try:
            services.administration_not_given(
                recorded_by=request.user,
                prescription=prescription,
                due_at=due_at,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                submission_key=form.cleaned_data["submission"],
            )
        except services.AlreadyRecorded as repeat:
            messages.info(request, repeat.message)
            return redirect("prescribing:drug_chart", opened.patient.pk)
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(request, f"{prescription.vmp.name}: recorded as not given.")
            return redirect("prescribing:drug_chart", opened.patient.pk)
    return render(request, "prescribing/not_given.html", _context(opened, prescription, due_at, form=form))


@login_required
def medication_round(request: HttpRequest, ward_id: int | None = None) -> HttpResponse:
    _may_administer(request)
    wards = ward_selectors.wards_to_choose(request.user)
    ward_id = ward_id or ascii_int(request.GET.get("ward", ""))
    own = {w.pk for w in ward_selectors.wards_for_user(request.user)}
    ward = (
        next((w for w in wards if w.pk == ward_id), None)
        if ward_id
        else next((w for w in wards if w.pk in own), wards[0] if wards else None)
    )
    if ward_id and ward is None:
        raise PermissionDenied("You do not work on that ward.")
    patients: list[charts.RoundPatient] = []
    slots: list[charts.RoundSlot] = []
    day = timezone.localdate()
    if ward is not None:
        stays = ward_selectors.ward_list(ward)
        shown = [r.stay.encounter.patient for r in stays if r.stay]
        cared = patients_with_care_relationship(request.user, shown)
        patients, slots = charts.medication_round(ward, cared, day)
        patient_selectors.audit_list_shown(
            request.user,
            listing=f"medication round {ward.code}",
            patient_ids=[p.patient.pk for p in patients],
        )
    return render(
        request,
        "prescribing/medication_round.html",
        {
            "wards": wards,
            "ward": ward,
            "patients": patients,
            "slots": slots,
            "day": day,
            "now": timezone.now(),
        },
    )
