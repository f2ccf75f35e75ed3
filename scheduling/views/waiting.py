"""Waiting-list pages: the list sorted by who breaches the 18 weeks first (filtered by specialty and
kind, breached rows marked), the counts of waiters by weeks waited per specialty, and recording the
next event of an entry's RTT clock. Managers see the list without names, as on records' manager
pages: counts and waits, no patient to audit."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.accounts.roles import Role
from epr.audit.models import Action
from records.access import Level, patients_with_care_relationship, sees_by_role
from records.models import Specialty
from records.selectors import patients as patient_selectors
from records.selectors.patients import PatientView
from records.views.base import NOT_DONE, patient_page, require_perm, submitted
from scheduling.forms.referrals import ClockEventForm
from scheduling.models import ClockEvent, WaitingKind
from scheduling.selectors import waiting as selectors
from scheduling.services import waiting as services
from scheduling.views.referrals import RECORD_CLOCK, detail_page, referral_of

VIEW = "scheduling.view_waitinglistentry"
LIST_LIMIT = 500


@login_required
def waiting_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm(VIEW):
        raise PermissionDenied("Your role does not see the waiting lists.")
    specialty = request.GET.get("specialty", "")
    specialty = specialty if specialty in Specialty.values else ""
    kind = request.GET.get("kind", "")
    kind = kind if kind in WaitingKind.values else ""
    today = timezone.localdate()
    entries = list(selectors.waiting_entries(specialty, kind)[:LIST_LIMIT])
    anonymous = getattr(user, "role", "") == Role.MANAGER  # managers see waits and counts, not who
    hidden = 0
    if not anonymous and not sees_by_role(user):
        cared = patients_with_care_relationship(user, [e.patient for e in entries])
        shown = [e for e in entries if e.patient_id in cared]
        hidden, entries = len(entries) - len(shown), shown
    if not anonymous:
        patient_selectors.audit_list_shown(
            user,
            listing=f"waiting list {specialty or 'all'} {kind or 'all'}",
            patient_ids=[e.patient_id for e in entries],
        )
    return render(
        request,
        "scheduling/referrals/waiting_list.html",
        {
            "rows": selectors.waiting_rows(entries, today),
            "counts": selectors.band_counts(today, kind),
            "groups": selectors.group_labels(),
            "anonymous": anonymous,
            "hidden": hidden,
            "specialty": specialty,
            "kind": kind,
            "specialties": Specialty.choices,
            "kinds": WaitingKind.choices,
            "limit": LIST_LIMIT,
            "today": today,
        },
    )


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def clock_event_new(
    request: HttpRequest, opened: PatientView, referral_id: int, entry_id: int
) -> HttpResponse:
    require_perm(request, RECORD_CLOCK, "Only clinicians record RTT clock events.")
    referral = referral_of(opened, referral_id)
    entry = next((e for e in referral.waiting.all() if e.pk == entry_id), None)
    if entry is None:
        raise PermissionDenied("That waiting-list entry is not this referral's.")
    form = ClockEventForm(request.POST)

    def record(data: dict[str, Any]) -> ClockEvent:
        return services.clock_event_record(
            entry=entry,
            recorded_by=request.user,
            version=data["version"],
            kind=data["kind"],
            on=data["on"],
            reason=form.reason(),
            note=data["note"],
        )

    event = submitted(request, form, record)
    if event is NOT_DONE:
        return detail_page(request, opened, referral, status=400, **{f"event_{entry.pk}": form})
    messages.success(request, f"{services.EVENT_KINDS[event.kind]} recorded for {event.on:%d-%b-%Y}.")
    return redirect("scheduling:referral_detail", opened.patient.pk, referral.pk)
