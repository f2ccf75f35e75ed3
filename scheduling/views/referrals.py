"""Referral pages: a patient's referrals, registering (incoming or outgoing) and correcting one, one
referral's page (details, attachments, triage, its waiting-list entries and RTT clock events), the
attachment download (audited as an export), closing a referral, and the triage queue of a specialty.
Thin: open the patient through the access door, check the role, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from records.access import Level, patients_with_care_relationship, sees_by_role
from records.errors import RecordError
from records.models import Specialty
from records.selectors import patients as patient_selectors
from records.selectors.patients import PatientView
from records.views.base import (
    NOT_DONE,
    patient_page,
    posted_version,
    refusal_on_form,
    require_perm,
    submitted,
)
from scheduling.forms.referrals import AttachmentForm, ClockEventForm, CloseForm, ReferralForm, TriageForm
from scheduling.models import Referral, ReferralDirection, ReferralStatus, WaitingStatus
from scheduling.models.referrals import OPEN_REFERRAL
from scheduling.selectors import referrals as selectors
from scheduling.services import referrals as services
from scheduling.services.waiting import EVENT_KINDS, START_LABELS, STOP_LABELS

VIEW = "scheduling.view_referral"
ADD = "scheduling.add_referral"
CHANGE = "scheduling.change_referral"
TRIAGE = "scheduling.triage_referral"
RECORD_CLOCK = "scheduling.add_clockevent"
TRIAGE_LIST_LIMIT = 300


def referral_of(opened: PatientView, referral_id: int) -> Referral:
    try:
        referral = selectors.referral_detail(referral_id)
    except Referral.DoesNotExist:
        referral = None
    if referral is None or referral.patient_id != opened.patient.pk:
        raise PermissionDenied("That referral is not this patient's.")
    return referral


@patient_page()
def patient_referrals(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see referrals.")
    return render(
        request,
        "scheduling/referrals/patient_referrals.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "referrals": selectors.patient_referrals(opened.patient),
        },
    )


@patient_page()
def referral_new(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, ADD, "Your role does not register referrals.")
    outgoing = (request.POST or request.GET).get("direction") == ReferralDirection.OUTGOING
    teams = list(selectors.teams_to_choose())
    form = ReferralForm(request.POST or None, teams=teams, outgoing=outgoing)

    def register(data: dict[str, Any]) -> Referral:
        team = next((t for t in teams if str(t.pk) == data.get("team")), None)
        return services.referral_register(
            registered_by=request.user,
            patient=opened.patient,
            details=form.details(),
            direction=ReferralDirection.OUTGOING if outgoing else ReferralDirection.INCOMING,
            team=team,
        )

    referral = submitted(request, form, register)
    if referral is not NOT_DONE:
        messages.success(request, f"Referral to {referral.service} registered.")
        return redirect("scheduling:referral_detail", opened.patient.pk, referral.pk)
    return render(
        request,
        "scheduling/referrals/referral_form.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "form": form,
            "outgoing": outgoing,
            "title": "Refer to another service" if outgoing else "Register a referral",
            "button": "Register referral",
        },
        status=400 if request.method == "POST" else 200,
    )


@patient_page()
def referral_edit(request: HttpRequest, opened: PatientView, referral_id: int) -> HttpResponse:
    require_perm(request, CHANGE, "Your role does not change referrals.")
    referral = referral_of(opened, referral_id)
    initial = {name: getattr(referral, name) for name in services.EDITABLE} | {"version": referral.version}
    form = ReferralForm(request.POST or None, initial=initial, editing=True)

    def update(data: dict[str, Any]) -> Referral:
        return services.referral_update(
            referral=referral,
            changed_by=request.user,
            version=posted_version(request),
            details=form.details(specialty=referral.specialty),
        )

    if submitted(request, form, update) is not NOT_DONE:
        messages.success(request, "Referral details saved.")
        return redirect("scheduling:referral_detail", opened.patient.pk, referral.pk)
    return render(
        request,
        "scheduling/referrals/referral_form.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "form": form,
            "referral": referral,
            "title": "Change referral details",
            "button": "Save changes",
        },
        status=400 if request.method == "POST" else 200,
    )


def detail_page(
    request: HttpRequest, opened: PatientView, referral: Referral, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The referral's page; a form posted with errors comes back in `forms`."""
    user = request.user
    may_triage = (
        referral.status == ReferralStatus.RECEIVED and user.has_perm(TRIAGE) and opened.access.clinical
    )
    may_record = user.has_perm(RECORD_CLOCK) and opened.access.clinical
    entries = list(referral.waiting.all())
    event_forms = {
        entry.pk: forms.get(f"event_{entry.pk}") or ClockEventForm(initial={"version": entry.version})
        for entry in entries
    }
    context = {
        "opened": opened,
        "patient": opened.patient,
        "referral": referral,
        "is_open": referral.status in OPEN_REFERRAL,
        "may_triage": may_triage,
        "may_record": may_record,
        "may_change": user.has_perm(CHANGE) and referral.status in OPEN_REFERRAL,
        "triage_form": forms.get("triage") or TriageForm(initial={"version": referral.version}),
        "attachment_form": forms.get("attachment") or AttachmentForm(),
        "close_form": forms.get("close") or CloseForm(initial={"version": referral.version}),
        "entries": [(entry, event_forms[entry.pk]) for entry in entries],
        "event_kinds": EVENT_KINDS,
        "reason_labels": {str(k): v for k, v in [*START_LABELS.items(), *STOP_LABELS.items()]},
        "removed": WaitingStatus.REMOVED,
        "today": timezone.localdate(),
    }
    return render(request, "scheduling/referrals/referral_detail.html", context, status=status)


@patient_page()
def referral_detail(request: HttpRequest, opened: PatientView, referral_id: int) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see referrals.")
    return detail_page(request, opened, referral_of(opened, referral_id))


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def referral_triage(request: HttpRequest, opened: PatientView, referral_id: int) -> HttpResponse:
    require_perm(request, TRIAGE, "Only clinicians triage referrals.")
    referral = referral_of(opened, referral_id)
    form = TriageForm(request.POST)

    def triage(data: dict[str, Any]) -> Referral:
        return services.referral_triage(
            referral=referral, triaged_by=request.user, version=data["version"], triage=form.triage()
        )

    done = submitted(request, form, triage)
    if done is NOT_DONE:
        return detail_page(request, opened, referral, status=400, triage=form)
    messages.success(request, f"Triaged: {done.triage_outcome}.")
    return redirect("scheduling:referral_detail", opened.patient.pk, referral.pk)


@require_POST
@patient_page(action=Action.UPDATE)
def attachment_add(request: HttpRequest, opened: PatientView, referral_id: int) -> HttpResponse:
    require_perm(request, "scheduling.add_referralattachment", "Your role does not add attachments.")
    referral = referral_of(opened, referral_id)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > services.MAX_ATTACHMENT_BYTES:  # refuse before reading a huge file into memory
            size = upload.size / (1024 * 1024)
            form.add_error("file", f"The file is {size:.1f} MB; attachments can be up to 10 MB.")
        else:
            try:
                services.attachment_add(
                    referral=referral, added_by=request.user, name=upload.name, content=upload.read()
                )
            except RecordError as exc:
                refusal_on_form(form, exc)
            else:
                messages.success(request, f"{upload.name} attached.")
                return redirect("scheduling:referral_detail", opened.patient.pk, referral.pk)
    return detail_page(request, opened, referral, status=400, attachment=form)


@patient_page()
def attachment_download(
    request: HttpRequest, opened: PatientView, referral_id: int, attachment_id: int
) -> HttpResponse:
    require_perm(request, "scheduling.view_referralattachment", "Your role does not open attachments.")
    referral = referral_of(opened, referral_id)
    found = next((a for a in referral.attachments.all() if a.pk == attachment_id), None)
    if found is None:
        raise PermissionDenied("That attachment is not this referral's.")
    attachment = selectors.attachment_content(found.pk)
    audit_record(
        user=request.user,
        action=Action.EXPORT,
        patient_id=opened.patient.pk,
        obj=attachment,
        channel=Channel.EXPORT,
        detail={"document": "referral attachment", "referral": referral.pk},
    )
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in attachment.name)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@patient_page(action=Action.UPDATE)
def referral_close(request: HttpRequest, opened: PatientView, referral_id: int) -> HttpResponse:
    require_perm(request, CHANGE, "Your role does not close referrals.")
    referral = referral_of(opened, referral_id)
    form = CloseForm(request.POST)

    def close(data: dict[str, Any]) -> Referral:
        return services.referral_close(
            referral=referral, closed_by=request.user, version=data["version"], reason=data["reason"]
        )

    if submitted(request, form, close) is NOT_DONE:
        return detail_page(request, opened, referral, status=400, close=form)
    messages.success(request, "Referral closed.")
    return redirect("scheduling:referral_detail", opened.patient.pk, referral.pk)


@login_required
def triage_queue(request: HttpRequest) -> HttpResponse:
    """Referrals waiting for triage, two-week waits first, then urgent, then the oldest. Clinicians see
    those of patients they have a care relationship with (their team's); clerks see all by role."""
    if not request.user.has_perm(VIEW):
        raise PermissionDenied("Your role does not see referrals.")
    specialty = request.GET.get("specialty", "")
    if specialty not in Specialty.values:
        specialty = ""
    rows = list(selectors.triage_queue(specialty)[:TRIAGE_LIST_LIMIT])
    hidden = 0
    if not sees_by_role(request.user):
        cared = patients_with_care_relationship(request.user, [r.patient for r in rows])
        shown = [r for r in rows if r.patient_id in cared]
        hidden, rows = len(rows) - len(shown), shown
    patient_selectors.audit_list_shown(
        request.user,
        listing=f"referrals to triage {specialty or 'all'}",
        patient_ids=[r.patient_id for r in rows],
    )
    counts = selectors.triage_counts()
    return render(
        request,
        "scheduling/referrals/triage_queue.html",
        {
            "rows": rows,
            "hidden": hidden,
            "specialty": specialty,
            "specialties": [(code, label, counts.get(code, 0)) for code, label in Specialty.choices],
            "total": sum(counts.values()),
            "today": timezone.localdate(),
        },
    )
