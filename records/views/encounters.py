"""Admissions: admit, transfer and discharge, with the free beds and consultant teams the forms offer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.parsing import ascii_int
from records import services
from records.access import may_change_record
from records.forms.encounters import AdmitForm, DischargeForm, TransferForm, team_led_by
from records.models import (
    Bed,
    DischargeDestination,
    Encounter,
    EncounterStatus,
    Patient,
    Team,
    Ward,
)
from records.selectors import patients as selectors
from records.selectors import wards as ward_selectors
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    submitted,
)


def _can_manage_admissions(request: HttpRequest, opened: selectors.PatientView) -> None:
    # Break-glass opens the record to read and to record care, not to move or discharge the patient.
    if not request.user.has_perm("records.manage_admissions") or not may_change_record(
        request.user, opened.access
    ):
        raise PermissionDenied("You may not admit, transfer or discharge this patient.")


@patient_page()
def patient_admit(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    _can_manage_admissions(request, opened)
    form = AdmitForm(request.POST or None)

    def admit(data: dict):
        return services.encounter_admit(
            admitted_by=request.user,
            patient=opened.patient,
            ward=data["ward"],
            bed=data["bed"],
            consultant=data["consultant"],
            team=data["team"],
            specialty=data["specialty"],
            admission_method=data["admission_method"],
            admitted_at=data["admitted_at"],
        )

    if submitted(request, form, admit) is not NOT_DONE:
        messages.success(request, f"Admitted to {form.cleaned_data['ward']}.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(request, opened, form, title="Admit patient", button="Admit")


def _active_encounter(patient: Patient) -> Encounter:
    encounter = (
        Encounter.objects.filter(patient=patient, status=EncounterStatus.ACTIVE)
        .select_related("consultant", "team")
        .first()
    )
    if encounter is None:
        raise Http404("The patient is not in hospital.")
    return encounter


@patient_page()
def patient_transfer(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    _can_manage_admissions(request, opened)
    encounter = _active_encounter(opened.patient)
    form = TransferForm(request.POST or None, initial={"version": encounter.version})

    def transfer(data: dict):
        return services.encounter_transfer(
            transferred_by=request.user,
            encounter=encounter,
            ward=data["ward"],
            bed=data["bed"],
            expected_version=data["version"],
            transferred_at=data["transferred_at"],
            reason=data["reason"],
        )

    if submitted(request, form, transfer) is not NOT_DONE:
        messages.success(request, f"Transferred to {form.cleaned_data['ward']}.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(
        request, opened, form, title="Transfer patient", button="Transfer", current=opened.current_stay
    )


@patient_page()
def patient_discharge(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    """The form, then a summary to confirm (who, from where, admitted when, to where); only the
    confirmed summary discharges."""
    _can_manage_admissions(request, opened)
    encounter = _active_encounter(opened.patient)
    form = DischargeForm(
        request.POST or None, initial={"version": encounter.version}, admitted_at=encounter.admitted_at
    )
    confirmed = request.POST.get("confirm") == "yes"
    changing = request.POST.get("confirm") == "change"  # back from the summary to the form
    if request.method == "POST" and not (confirmed or changing) and form.is_valid():
        return patient_form_page(
            request,
            opened,
            form,
            template="records/discharge_confirm.html",
            title="Check the discharge",
            button="Confirm discharge",
            encounter=encounter,
            current=opened.current_stay,
            destination=DischargeDestination(form.cleaned_data["destination"]).label,
        )

    def discharge(data: dict):
        return services.encounter_discharge(
            discharged_by=request.user,
            encounter=encounter,
            destination=data["destination"],
            expected_version=data["version"],
            discharged_at=data["discharged_at"],
            died_at=data["died_at"],
        )

    if confirmed and submitted(request, form, discharge) is not NOT_DONE:
        messages.success(request, "Patient discharged.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(
        request, opened, form, title="Discharge patient", button="Discharge", current=opened.current_stay
    )


@login_required
def free_beds(request: HttpRequest) -> HttpResponse:
    """htmx: the free-bed options for the chosen ward."""
    ward_id = ascii_int(request.GET.get("ward", ""))
    ward = Ward.objects.filter(pk=ward_id).first() if ward_id else None
    beds = ward_selectors.free_beds(ward) if ward else Bed.objects.none()
    return render(request, "records/partials/bed_options.html", {"beds": beds})


@login_required
def consultant_teams(request: HttpRequest) -> HttpResponse:
    """htmx: the team options with the consultant's team chosen when they lead exactly one."""
    consultant_id = ascii_int(request.GET.get("consultant", ""))
    consultant = User.objects.filter(pk=consultant_id, role=Role.DOCTOR).first() if consultant_id else None
    led = team_led_by(consultant) if consultant else None
    teams = Team.objects.order_by("name")
    return render(
        request,
        "records/partials/team_options.html",
        {"teams": teams, "chosen_id": led.pk if led else None},
    )
