"""The bed board's pages: the board (and its fragment, polled by htmx so it updates for everyone
looking at it), a bed's page (cleaned, blocked, closed, reopened), a bed request's allocation,
arrival and cancellation, a new request from the patient page, and occupancy. Thin: parse, check,
call a service or selector, render. The fragment goes through the same checks and audit as the page."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone

from epr.accounts.roles import Role
from epr.parsing import ascii_int
from records.access import Level, patients_with_care_relationship, sees_by_role
from records.errors import RecordError
from records.models import Bed, Patient
from records.selectors import patients as patient_selectors
from records.selectors.patients import PatientView
from records.views.base import NOT_DONE, patient_page, require_perm, submitted
from scheduling.forms import beds as forms
from scheduling.models import BedRequest, BedRequestSource, BedRequestStatus
from scheduling.selectors import beds as selectors
from scheduling.services import beds as services

VIEW = "scheduling.view_bedstate"
MANAGE = "scheduling.manage_beds"
REQUEST = "scheduling.add_bedrequest"
NOT_SHOWN = "Your role does not see the bed board."
NOT_MANAGER = "Only a bed manager may change beds and allocate them."


def poll_seconds() -> float:
    """How often the board asks for itself again; a setting so a browser test can wait a second."""
    return float(getattr(settings, "BED_BOARD_POLL_SECONDS", 10))


# A board left open polls every few seconds: each poll re-audits only the patients this user has not
# been shown for this long, so the log says who saw whom without a row per patient per poll.
REAUDIT_SECONDS = 600


def _audit_shown(request: HttpRequest, patient_ids: list[int], *, polled: bool) -> None:
    shown = list(patient_ids)
    if polled:
        key = f"bed-board-shown:{request.user.pk}"
        now = time.time()
        seen: dict[int, float] = cache.get(key) or {}
        shown = [p for p in patient_ids if now - seen.get(p, 0.0) > REAUDIT_SECONDS]
        seen.update(dict.fromkeys(shown, now))
        cache.set(key, {p: t for p, t in seen.items() if now - t <= REAUDIT_SECONDS}, REAUDIT_SECONDS)
    if shown:
        patient_selectors.audit_list_shown(request.user, listing="bed board", patient_ids=shown)


def _board_context(request: HttpRequest, *, polled: bool = False) -> dict[str, Any]:
    ward_id = ascii_int(request.GET.get("ward", "")) or None
    board = selectors.bed_board(request.user, ward_id=ward_id)
    _audit_shown(request, board.patient_ids, polled=polled)
    return {
        "board": board,
        "ward_id": ward_id,
        "may_manage": request.user.has_perm(MANAGE),
        "now": timezone.now(),
        "poll": poll_seconds(),
    }


@login_required
def board(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW, NOT_SHOWN)
    context = _board_context(request)
    context["wards"] = list(selectors.board_wards())
    return render(request, "scheduling/beds/board.html", context)


def board_fragment(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:  # signed out (a timeout): the whole page goes to log in,
        response = HttpResponse(status=204)  # rather than the login form swapped into the board
        response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?next={reverse('scheduling:bed_board')}"
        return response
    require_perm(request, VIEW, NOT_SHOWN)
    return render(request, "scheduling/beds/partials/board.html", _board_context(request, polled=True))


def _bed(bed_id: int) -> tuple[selectors.BedCell, list[Any]]:
    try:
        return selectors.bed_for_board(bed_id)
    except Bed.DoesNotExist as exc:
        raise Http404("No such bed") from exc


@login_required
def bed_detail(request: HttpRequest, bed_id: int) -> HttpResponse:
    require_perm(request, VIEW, NOT_SHOWN)
    cell, history = _bed(bed_id)
    close_form = forms.CloseBedForm(initial={"version": cell.version})
    if request.method == "POST":
        require_perm(request, MANAGE, NOT_MANAGER)
        close_form = forms.CloseBedForm(request.POST)
        done = submitted(
            request,
            close_form,
            lambda data: services.bed_close(
                by=request.user,
                bed=cell.bed,
                condition=data["condition"],
                reason=data["reason"],
                version=data["version"],
            ),
        )
        if done is not NOT_DONE:
            messages.success(
                request, f"{cell.bed} on {cell.bed.ward} is {done.get_condition_display().lower()}."
            )
            return redirect("scheduling:bed_detail", cell.bed.pk)
    context = {
        "cell": cell,
        "history": history,
        "form": close_form,
        "may_manage": request.user.has_perm(MANAGE),
    }
    return render(request, "scheduling/beds/bed.html", context)


@login_required
def bed_available(request: HttpRequest, bed_id: int) -> HttpResponse:
    """Cleaned, unblocked or reopened (POST only)."""
    require_perm(request, MANAGE, NOT_MANAGER)
    if request.method != "POST":
        return redirect("scheduling:bed_detail", bed_id)
    cell, _ = _bed(bed_id)
    form = forms.VersionForm(request.POST)
    try:
        if not form.is_valid():
            raise RecordError("Reload the page and try again.")
        services.bed_make_available(by=request.user, bed=cell.bed, version=form.cleaned_data["version"])
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{cell.bed} on {cell.bed.ward} is available.")
    return redirect("scheduling:bed_detail", bed_id)


def _request(request_id: int) -> BedRequest:
    try:
        return selectors.open_request(request_id)
    except BedRequest.DoesNotExist as exc:
        raise Http404("No such bed request") from exc


def _name_shown(request: HttpRequest, bed_request: BedRequest) -> bool:
    """Whether this user may see who the request is for; audited when shown."""
    patient = bed_request.patient
    shown = sees_by_role(request.user) or patient.pk in patients_with_care_relationship(
        request.user, [patient]
    )
    if shown:
        patient_selectors.audit_list_shown(request.user, listing="bed request", patient_ids=[patient.pk])
    return shown


def _wanted_first(beds: list[Bed], bed_request: BedRequest) -> list[Bed]:
    """The free beds on the ward the request wants first, then the rest in board order."""
    return sorted(beds, key=lambda b: b.ward_id != bed_request.wanted_ward_id)


def _request_page(
    request: HttpRequest, bed_request: BedRequest, form: Any, *, title: str, button: str, **extra: Any
) -> HttpResponse:
    context = {
        "bed_request": bed_request,
        "name_shown": _name_shown(request, bed_request),
        "form": form,
        "title": title,
        "button": button,
        **extra,
    }
    return render(request, "scheduling/beds/request_form.html", context)


@login_required
def request_allocate(request: HttpRequest, request_id: int) -> HttpResponse:
    require_perm(request, MANAGE, NOT_MANAGER)
    bed_request = _request(request_id)
    beds = _wanted_first(selectors.free_beds(but_for=bed_request), bed_request)
    form = forms.AllocateForm(request.POST or None, beds=beds, initial={"version": bed_request.version})
    done = submitted(
        request,
        form,
        lambda data: services.bed_allocate(
            allocated_by=request.user, request=bed_request, bed=data["bed"], version=data["version"]
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, f"Allocated {done.bed} on {done.bed.ward}.")
        return redirect("scheduling:bed_board")
    if form.is_bound:  # refused: list the beds free now, which may have changed under the manager
        beds = _wanted_first(selectors.free_beds(but_for=bed_request), bed_request)
        form.set_beds(beds)
    return _request_page(
        request, bed_request, form, title="Allocate a bed", button="Allocate bed", free=len(beds)
    )


@login_required
def request_arrived(request: HttpRequest, request_id: int) -> HttpResponse:
    require_perm(request, MANAGE, NOT_MANAGER)
    bed_request = _request(request_id)
    if bed_request.status != BedRequestStatus.ALLOCATED:
        messages.error(request, "This request has no bed allocated.")
        return redirect("scheduling:bed_board")
    initial: dict[str, Any] = {"version": bed_request.version}
    if bed_request.requested_by.role == Role.DOCTOR:
        initial["consultant"] = bed_request.requested_by.pk
    form = forms.ArrivedForm(request.POST or None, initial=initial)
    done = submitted(
        request,
        form,
        lambda data: services.bed_request_arrived(
            by=request.user, request=bed_request, version=data["version"], consultant=data.get("consultant")
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, f"The patient is in {done.bed} on {done.bed.ward}.")
        return redirect("scheduling:bed_board")
    return _request_page(request, bed_request, form, title="Patient arrived in the bed", button="Arrived")


@login_required
def request_cancel(request: HttpRequest, request_id: int) -> HttpResponse:
    require_perm(request, MANAGE, NOT_MANAGER)
    bed_request = _request(request_id)
    form = forms.ReasonForm(request.POST or None, initial={"version": bed_request.version})
    done = submitted(
        request,
        form,
        lambda data: services.bed_request_cancel(
            by=request.user, request=bed_request, reason=data["reason"], version=data["version"]
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, "The bed request is cancelled.")
        return redirect("scheduling:bed_board")
    return _request_page(request, bed_request, form, title="Cancel the bed request", button="Cancel request")


def _may_request(request: HttpRequest, opened: PatientView) -> bool:
    """Doctors and nurses with clinical access to the patient, or a bed manager by role."""
    user: Any = request.user
    if not user.has_perm(REQUEST):
        return False
    return opened.access.clinical or (user.has_perm(MANAGE) and sees_by_role(user))


@patient_page(minimum=Level.DEMOGRAPHIC)
def bed_request_new(request: HttpRequest, opened: PatientView) -> HttpResponse:
    if not _may_request(request, opened):
        raise PermissionDenied("Your role may not request a bed for this patient.")
    stay = opened.current_stay
    initial: dict[str, Any] = {}
    if stay is not None:
        initial = {
            "source": BedRequestSource.WARD,
            "from_ward": stay.ward_id,
            "specialty": stay.encounter.specialty,
        }
    form = forms.BedRequestForm(request.POST or None, initial=initial)
    done = submitted(
        request,
        form,
        lambda data: services.bed_request_create(
            requested_by=request.user,
            patient=opened.patient,
            source=data["source"],
            specialty=data["specialty"],
            from_ward=data.get("from_ward"),
            wanted_ward=data.get("wanted_ward"),
            needs=data.get("needs", ""),
            urgent=data.get("urgent", False),
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, "The bed request is on the bed board.")
        return redirect("records:patient_detail", opened.patient.pk)
    context = {"opened": opened, "patient": opened.patient, "form": form}
    return render(request, "scheduling/beds/request_new.html", context)


@login_required
def bed_request_find(request: HttpRequest) -> HttpResponse:
    """A bed manager raising a request: the patient by hospital or NHS number, then the request form
    (through the patient page's door, which audits the opening)."""
    require_perm(request, MANAGE, NOT_MANAGER)
    number = "".join(request.GET.get("number", "").split())
    found = (
        Patient.objects.filter(Q(hospital_number__iexact=number) | Q(nhs_number=number)).first()
        if number
        else None
    )
    if found is None:
        messages.error(request, "No patient has that hospital or NHS number. Check it and try again.")
        return redirect("scheduling:bed_board")
    return redirect("scheduling:bed_request_new", found.pk)  # a merged record redirects there


@login_required
def occupancy(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW, NOT_SHOWN)
    today = timezone.localdate()
    data = request.GET if "start" in request.GET else None
    form = forms.OccupancyForm(data, initial={"start": today - timedelta(days=6), "end": today})
    start, end = today - timedelta(days=6), today
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    by_ward, by_specialty, total = selectors.occupancy_today()
    context = {
        "form": form,
        "by_ward": by_ward,
        "by_specialty": by_specialty,
        "total": total,
        "range": None if form.errors else selectors.occupancy_range(start, end),
        "start": start,
        "end": end,
    }
    return render(request, "scheduling/beds/occupancy.html", context)
