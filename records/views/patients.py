"""Pages of the patient record. Thin: parse, check, call a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.accounts.models import User
from epr.accounts.roles import Role
from epr.parsing import ascii_int
from records import services
from records.access import may_change_record, patient_access
from records.errors import RecordError
from records.forms.patients import (
    AdmitForm,
    BreakGlassForm,
    DemographicsForm,
    DischargeForm,
    OtherRecordForm,
    PatientSearchForm,
    ReasonForm,
    TransferForm,
    team_led_by,
)
from records.models import (
    Bed,
    DischargeDestination,
    Encounter,
    EncounterStatus,
    Patient,
    PatientMerge,
    Team,
    Ward,
)
from records.selectors import identity as identity_selectors
from records.selectors import patients as selectors
from records.selectors import wards as ward_selectors
from records.services.patients import HISTORY_FIELDS
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    posted_version,
    refusal_on_form,
    submitted,
)


@login_required
def my_patients(request: HttpRequest) -> HttpResponse:
    stays = ward_selectors.team_patients(request.user)
    selectors.audit_list_shown(
        request.user, listing="my patients", patient_ids=[s.encounter.patient_id for s in stays]
    )
    rows = ward_selectors.whiteboard_rows(
        request.user, [(s.bed, s) for s in stays], request.GET.get("sort", "bed")
    )
    context = {"rows": rows, "sort": request.GET.get("sort", "bed"), "now": timezone.now()}
    return render(request, "records/my_patients.html", context)


@login_required
def ward_list(request: HttpRequest, ward_id: int | None = None) -> HttpResponse:
    wards = ward_selectors.wards_to_choose(request.user)
    ward_id = ward_id or ascii_int(request.GET.get("ward", ""))
    if not wards:
        return render(request, "records/ward_list.html", {"wards": [], "ward": None})
    own = {w.pk for w in ward_selectors.wards_for_user(request.user)}
    default = next((w for w in wards if w.pk in own), wards[0])
    ward = next((w for w in wards if w.pk == ward_id), None) if ward_id else default
    if ward is None:
        raise PermissionDenied("You do not work on that ward.")
    beds = ward_selectors.ward_list(ward)
    occupied = sum(1 for r in beds if r.stay)
    selectors.audit_list_shown(
        request.user,
        listing=f"ward {ward.code}",
        patient_ids=[r.stay.encounter.patient_id for r in beds if r.stay],
    )
    rows = ward_selectors.whiteboard_rows(
        request.user, [(r.bed, r.stay) for r in beds], request.GET.get("sort", "bed")
    )
    return render(
        request,
        "records/ward_list.html",
        {
            "wards": wards,
            "ward": ward,
            "rows": rows,
            "occupied": occupied,
            "beds": len(beds),
            "sort": request.GET.get("sort", "bed"),
            "now": timezone.now(),
            "no_ward_of_own": not own,
        },
    )


@login_required
def patient_search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid():
        results = selectors.patient_search(request.user, **form.criteria())
    return render(request, "records/search.html", {"form": form, "results": results})


@login_required
@permission_required("records.add_patient", raise_exception=True)
def patient_register(request: HttpRequest) -> HttpResponse:
    """Register a patient; possible matches on name with birth date and sex (or postcode) are shown
    first, and only an explicit "none of these is the patient" registers a new record."""
    form = DemographicsForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        values = form.values()
        holder = identity_selectors.active_holder_of_nhs_number(values.get("nhs_number", ""))
        matches = [] if values.get("temporary_identity") else _possible_duplicates(values)
        if holder is not None:
            context["nhs_clash"] = _nhs_clash(request, form, holder)
        elif matches and not {m.pk for m in matches} <= _posted_ids(request, "not_duplicate_of"):
            selectors.audit_list_shown(
                request.user, listing="possible duplicates", patient_ids=[m.pk for m in matches]
            )
            posted = [
                (name, value)
                for name in request.POST
                if name not in ("csrfmiddlewaretoken", "not_duplicate_of")
                for value in request.POST.getlist(name)
            ]
            context.update(matches=matches, match_ids=",".join(str(m.pk) for m in matches), posted=posted)
        else:
            try:
                patient = services.patient_register(registered_by=request.user, **values)
            except RecordError as exc:
                refusal_on_form(form, exc)
            else:
                messages.success(
                    request, f"Registered {patient.display_name}, hospital number {patient.hospital_number}."
                )
                return redirect("records:patient_detail", patient.pk)
    return render(request, "records/register.html", context)


def _possible_duplicates(values: dict) -> list[Patient]:
    return identity_selectors.possible_duplicates(
        family_name=values.get("family_name") or "",
        given_names=values.get("given_names") or "",
        date_of_birth=values.get("date_of_birth"),
        sex=values.get("sex") or "",
        postcode=values.get("postcode") or "",
    )


def _posted_ids(request: HttpRequest, name: str) -> set[int]:
    """Record ids a confirmation was given for ("12,15"); anything garbled counts as none."""
    return {n for n in (ascii_int(part) for part in request.POST.get(name, "").split(",")) if n}


def _nhs_clash(request: HttpRequest, form, holder: Patient) -> dict[str, Any]:
    """The NHS number is already in use: say by whom, with a link if this user may open that record."""
    form.add_error(
        "nhs_number",
        f"NHS number {holder.nhs_number_display} is already in use by the record {holder.hospital_number}.",
    )
    return {"holder": holder, "can_open": patient_access(request.user, holder).allowed}


@patient_page()
def patient_detail(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    """Clinical staff open a patient on the clinical summary; clerks and managers on the demographics."""
    if not (opened.access.clinical and request.user.is_clinical):
        return _demographics(request, opened)
    stay = opened.current_stay
    summary = ward_selectors.patient_summary(
        request.user, opened.patient, stay.encounter.admitted_at if stay else None
    )
    context = {"opened": opened, "patient": opened.patient, "summary": summary, "now": timezone.now()}
    return render(request, "records/patient_summary.html", {**context, "section": "summary"})


@patient_page()
def patient_demographics(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    return _demographics(request, opened)


def _demographics(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    patient = opened.patient
    return render(
        request,
        "records/patient_detail.html",
        {
            "opened": opened,
            "patient": patient,
            "encounters": selectors.encounters_of(patient),
            "links": identity_selectors.links_of(patient),
            "merges": identity_selectors.merges_involving(patient),
            "section": "details",
            # Break-glass reads and records clinical entries; it is no way to move or re-identify a patient.
            "can_change": may_change_record(request.user, opened.access),
        },
    )


@patient_page()
def patient_edit(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    if not request.user.has_perm("records.change_patient") or not may_change_record(
        request.user, opened.access
    ):
        raise PermissionDenied("You may not change this patient's details.")
    patient = opened.patient
    form = DemographicsForm(request.POST or None, instance=None if request.method == "POST" else patient)
    version = posted_version(request) if request.method == "POST" else patient.version
    context: dict[str, Any] = {"opened": opened, "patient": patient, "form": form, "version": version}
    if request.method == "POST" and form.is_valid():
        values = form.values()
        holder = identity_selectors.active_holder_of_nhs_number(
            values.get("nhs_number", ""), exclude_id=patient.pk
        )
        if holder is not None:
            context["nhs_clash"] = _nhs_clash(request, form, holder)
        else:
            try:
                services.patient_update(
                    updated_by=request.user, patient=patient, expected_version=version, changes=values
                )
            except RecordError as exc:
                refusal_on_form(form, exc)
            else:
                messages.success(request, "Details saved.")
                return redirect("records:patient_detail", patient.pk)
    return render(request, "records/patient_edit.html", context)


@patient_page()
def patient_history(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    patient = opened.patient
    rows = selectors.demographic_history(patient, HISTORY_FIELDS)
    return render(
        request, "records/patient_history.html", {"opened": opened, "patient": patient, "rows": rows}
    )


@permission_required("records.rollback_patient", raise_exception=True)
@patient_page()
def patient_rollback(request: HttpRequest, opened: selectors.PatientView, history_id: int) -> HttpResponse:
    """Show what a rollback would change (now -> then) and ask why; the POST with a reason does it."""
    patient = opened.patient
    try:
        old, changes = selectors.rollback_preview(patient, history_id, HISTORY_FIELDS)
    except patient.history.model.DoesNotExist as exc:
        raise Http404("That version does not belong to this record.") from exc
    form = ReasonForm(request.POST or None)
    form.fields["reason"].label = "Reason for rolling back"
    version = posted_version(request) if request.method == "POST" else patient.version
    done = submitted(
        request,
        form,
        lambda data: services.patient_rollback(
            rolled_back_by=request.user,
            patient=patient,
            history_id=history_id,
            expected_version=version,
            reason=data["reason"],
        ),
    )
    if done is not NOT_DONE:
        messages.success(
            request, f"Details rolled back to version {old.version}; the rollback is kept as a new version."
        )
        return redirect("records:patient_history", patient.pk)
    return render(
        request,
        "records/rollback_confirm.html",
        {
            "opened": opened,
            "patient": patient,
            "old": old,
            "changes": changes,
            "form": form,
            "version": version,
        },
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


@permission_required("records.merge_patient", raise_exception=True)
@patient_page()
def patient_merge(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    """Merge this (duplicate) record into the survivor named by hospital number: first the two records
    side by side, then the merge on confirmation, then what moved."""
    form = OtherRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and request.POST.get("confirm") != "yes":
        survivor = form.cleaned_data["other"]
        if survivor.pk == opened.patient.pk:
            form.add_error("other", "That is this record: enter the hospital number of the other record.")
        else:
            # Opening the survivor through the access helper audits that its details were shown.
            shown = selectors.patient_for_user(request.user, survivor.pk)
            return render(
                request,
                "records/merge_confirm.html",
                {
                    "opened": opened,
                    "patient": opened.patient,
                    "survivor": shown.patient,
                    "form": form,
                    "comparison": identity_selectors.compare_demographics(
                        opened.patient, shown.patient, HISTORY_FIELDS
                    ),
                },
            )
    merge = submitted(
        request,
        form,
        lambda data: services.patients_merge(
            merged_by=request.user, survivor=data["other"], duplicate=opened.patient, reason=data["reason"]
        ),
    )
    if merge is not NOT_DONE:
        messages.success(request, f"Merged into {merge.survivor.hospital_number}.")
        return redirect("records:merge_result", merge.survivor_id, merge.pk)
    return patient_form_page(
        request,
        opened,
        form,
        template="records/identity_form.html",
        title="Merge this record into another",
        hint="This record will be marked as merged and everything on it moves to the record you name. "
        "You will see both records side by side before anything changes. The merge can be undone.",
        button="Compare the records",
    )


@permission_required("records.merge_patient", raise_exception=True)
@patient_page()
def merge_result(request: HttpRequest, opened: selectors.PatientView, merge_id: int) -> HttpResponse:
    """What a merge into this record moved, counted by kind of entry."""
    merge = get_object_or_404(
        PatientMerge.objects.select_related("duplicate", "merged_by", "unmerged_by"),
        pk=merge_id,
        survivor=opened.patient,
    )
    return render(
        request,
        "records/merge_result.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "merge": merge,
            "moved": identity_selectors.merge_moved_counts(merge),
        },
    )


@require_POST
@permission_required("records.merge_patient", raise_exception=True)
@login_required
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    merge = get_object_or_404(PatientMerge, pk=merge_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for undoing the merge.")
        return redirect("records:patient_detail", merge.survivor_id)
    try:
        services.patient_unmerge(unmerged_by=request.user, merge=merge, reason=form.cleaned_data["reason"])
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Merge undone: both records are as they were before it.")
    return redirect("records:patient_detail", merge.duplicate_id)


@permission_required("records.link_patient", raise_exception=True)
@patient_page()
def patient_link(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    form = OtherRecordForm(request.POST or None)
    link = submitted(
        request,
        form,
        lambda data: services.patients_link(
            linked_by=request.user, patient=opened.patient, other=data["other"], reason=data["reason"]
        ),
    )
    if link is not NOT_DONE:
        messages.success(request, "Records linked.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(
        request,
        opened,
        form,
        template="records/identity_form.html",
        title="Link to another record",
        hint="Linked records are the same person but are kept apart.",
        button="Link records",
    )


@permission_required("records.archive_patient", raise_exception=True)
@patient_page()
def patient_archive(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    form = ReasonForm(request.POST or None)
    archived = submitted(
        request,
        form,
        lambda data: services.patient_archive(
            archived_by=request.user, patient=opened.patient, reason=data["reason"]
        ),
    )
    if archived is not NOT_DONE:
        messages.success(request, "Record archived.")
        return redirect("records:patient_detail", opened.patient.pk)
    return patient_form_page(
        request,
        opened,
        form,
        template="records/identity_form.html",
        title="Archive this record",
        hint="An archived record no longer appears in searches. Nothing on it is deleted.",
        button="Archive record",
    )


@require_POST
@login_required
def break_glass(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=patient_id)
    if not request.user.is_clinical:
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
