"""The ward's whiteboard and a doctor's own patients: the lists a clinician works from."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from epr.parsing import ascii_int
from records.selectors import patients as selectors
from records.selectors import wards as ward_selectors


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
