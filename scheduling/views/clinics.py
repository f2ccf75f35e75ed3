"""Clinic pages that are not about one patient: the free-slot search (a patient is then chosen, and
booking goes on under the patient's page), the day's clinic lists for clinic staff, one session's
list (who is booked, arrived, seen) with cancelling or reducing it and its theatre cases, and the
appointments the hospital cancelled that wait to be rebooked. Every list of patients is audited."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.audit.models import Action
from epr.parsing import ascii_int
from records.access import Level, open_record
from records.errors import NoRelationship, RecordError
from records.models import Patient
from records.selectors.patients import audit_list_shown
from records.views.base import refusal_on_form, require_perm
from scheduling.forms.clinics import (
    ReasonForm,
    SessionCancelForm,
    SessionReduceForm,
    SlotSearchForm,
    TheatreCaseForm,
)
from scheduling.models import ClinicSession, SessionKind, SessionStatus, SlotStatus, TheatreCase
from scheduling.rules.sessions import CLINIC_TIME
from scheduling.selectors import clinics as selectors
from scheduling.services import clinics as services
from scheduling.views.appointments import BOOK, STATUS_BUTTONS, search_url

CHANGE_SESSION = "scheduling.change_clinicsession"
THEATRE = "scheduling.change_theatrecase"


@login_required
def slot_search(request: HttpRequest) -> HttpResponse:
    """Free slots across clinics; choosing a patient (hospital or NHS number) carries the search to
    the patient's booking page."""
    require_perm(request, BOOK, "Your role does not book appointments.")
    form = SlotSearchForm(request.GET or None, consultants=selectors.consultants())
    number = " ".join(request.GET.get("patient", "").split())[:20]
    patient_error = ""
    if number and form.is_valid():
        patient = _patient_by_number(number)
        if patient is not None:
            params = {k: request.GET.get(k, "") for k in form.fields}
            return redirect(search_url(patient.pk, params))
        patient_error = "No patient has that hospital or NHS number. Check it, or search for the patient."
    page = selectors.free_slots(form.search(), page=ascii_int(request.GET.get("page", "")) or 1)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scheduling/clinics/slot_search.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "number": number,
            "patient_error": patient_error,
        },
    )


def _patient_by_number(number: str) -> Patient | None:
    digits = number.replace(" ", "")
    if digits.isdigit() and len(digits) == 10:
        return Patient.objects.filter(nhs_number=digits).order_by("pk").first()
    return Patient.objects.filter(hospital_number=number.upper()).first()


def _day(request: HttpRequest) -> date:
    """The day asked for, or today: also for a day so far off there is no day either side of it."""
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return timezone.localdate()
    return day if date(1900, 1, 1) <= day <= date(2200, 12, 31) else timezone.localdate()


@login_required
def clinic_lists(request: HttpRequest) -> HttpResponse:
    """The sessions of the user's clinics on a day (every clinic's for clerks and managers)."""
    require_perm(request, "scheduling.view_clinicsession", "Your role does not see clinic lists.")
    day = _day(request)
    return render(
        request,
        "scheduling/clinics/clinic_lists.html",
        {
            "day": day,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "sessions": selectors.sessions_on(request.user, day),
        },
    )


def _session(request: HttpRequest, session_id: int) -> ClinicSession:
    session = selectors.session_of(session_id)
    if session is None:
        raise Http404("No such session")
    if not selectors.may_see_clinic(request.user, session.clinic):
        raise PermissionDenied("This list is for the clinic's staff. Ask to be added to the clinic.")
    return session


@login_required
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    require_perm(request, "scheduling.view_clinicsession", "Your role does not see clinic lists.")
    session = _session(request, session_id)
    listing = selectors.clinic_list(session)
    audit_list_shown(
        request.user, listing=f"clinic list {session.clinic.code}", patient_ids=listing.patient_ids
    )
    local = session.starts_at.astimezone(CLINIC_TIME)
    return render(
        request,
        "scheduling/clinics/session_detail.html",
        {
            "session": session,
            "listing": listing,
            "buttons": STATUS_BUTTONS,
            "day": local.date(),
            "theatre": session.clinic.kind == SessionKind.THEATRE,
            "open": session.status != SessionStatus.CANCELLED and session.ends_at > timezone.now(),
            "case_form": TheatreCaseForm(),
        },
    )


@login_required
def session_cancel(request: HttpRequest, session_id: int) -> HttpResponse:
    require_perm(request, CHANGE_SESSION, "Your role does not cancel clinics.")
    session = _session(request, session_id)
    form = SessionCancelForm(
        request.POST if request.method == "POST" else None, initial={"version": session.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = services.session_cancel(
                by=request.user,
                session=session,
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(request, f"Session cancelled. {_rebook_message(len(cancelled))}")
            return redirect("scheduling:session_detail", session.pk)
    return render(
        request,
        "scheduling/clinics/session_form.html",
        {"session": session, "form": form, "title": "Cancel the session", "button": "Cancel session"},
    )


def _rebook_message(count: int) -> str:
    if not count:
        return "Nobody was booked into it."
    noun = "patient's appointment was" if count == 1 else "patients' appointments were"
    return f"{count} {noun} cancelled: they are listed below and on To rebook."


@login_required
def session_reduce(request: HttpRequest, session_id: int) -> HttpResponse:
    require_perm(request, CHANGE_SESSION, "Your role does not change clinics.")
    session = _session(request, session_id)
    listing = selectors.clinic_list(session)
    choices = [
        (row.slot.pk, _slot_label(row)) for row in listing.rows if row.slot.status != SlotStatus.BLOCKED
    ]
    form = SessionReduceForm(
        request.POST if request.method == "POST" else None,
        initial={"version": session.version},
        slot_choices=choices,
    )
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = services.session_reduce(
                by=request.user,
                session=session,
                slot_ids=form.cleaned_data["slots"],
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(request, f"Session reduced. {_rebook_message(len(cancelled))}")
            return redirect("scheduling:session_detail", session.pk)
    audit_list_shown(
        request.user, listing=f"clinic list {session.clinic.code}", patient_ids=listing.patient_ids
    )
    return render(
        request,
        "scheduling/clinics/session_form.html",
        {"session": session, "form": form, "title": "Reduce the session", "button": "Block these slots"},
    )


def _slot_label(row: selectors.ClinicListRow) -> str:
    at = row.slot.starts_at.astimezone(CLINIC_TIME)
    who = f", booked: {row.appointment.patient.display_name}" if row.appointment else ", free"
    return f"{at:%H:%M} {row.slot.get_slot_type_display()}{who}"


@login_required
def to_rebook(request: HttpRequest) -> HttpResponse:
    require_perm(request, BOOK, "Your role does not book appointments.")
    rows = selectors.to_rebook()
    audit_list_shown(request.user, listing="appointments to rebook", patient_ids=[a.patient_id for a in rows])
    return render(request, "scheduling/clinics/to_rebook.html", {"rows": rows})


# --- Theatre lists ---


@require_POST
@login_required
def theatre_case_add(request: HttpRequest, session_id: int) -> HttpResponse:
    require_perm(request, "scheduling.add_theatrecase", "Your role does not list theatre cases.")
    session = _session(request, session_id)
    form = TheatreCaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("scheduling:session_detail", session.pk)
    patient = Patient.objects.filter(
        hospital_number=form.cleaned_data["hospital_number"].strip().upper()
    ).first()
    if patient is not None:
        try:  # through the access door: a case lists the patient's name to the theatre team
            open_record(request.user, patient, minimum=Level.DEMOGRAPHIC, audit_action=Action.VIEW)
        except NoRelationship:
            patient = None  # answered as not found: the list does not reveal who has a record
    if patient is None:
        messages.error(request, "No patient you may see has that hospital number.")
        return redirect("scheduling:session_detail", session.pk)
    try:
        services.theatre_case_add(
            by=request.user,
            session=session,
            patient=patient,
            procedure=form.cleaned_data["procedure"],
            expected_minutes=form.cleaned_data["expected_minutes"],
        )
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Case added to the end of the list.")
    return redirect("scheduling:session_detail", session.pk)


def _case(request: HttpRequest, session: ClinicSession, case_id: int) -> TheatreCase:
    case = TheatreCase.objects.filter(pk=case_id, session=session).first()
    if case is None:
        raise Http404("No such case on this list")
    return case


@require_POST
@login_required
def theatre_case_move(request: HttpRequest, session_id: int, case_id: int) -> HttpResponse:
    require_perm(request, THEATRE, "Your role does not change theatre lists.")
    session = _session(request, session_id)
    try:
        services.theatre_case_move(
            by=request.user, case=_case(request, session, case_id), up=request.POST.get("to") == "up"
        )
    except RecordError as exc:
        messages.error(request, exc.message)
    return redirect("scheduling:session_detail", session.pk)


@require_POST
@login_required
def theatre_case_cancel(request: HttpRequest, session_id: int, case_id: int) -> HttpResponse:
    require_perm(request, THEATRE, "Your role does not change theatre lists.")
    session = _session(request, session_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the case is cancelled.")
        return redirect("scheduling:session_detail", session.pk)
    try:
        services.theatre_case_cancel(
            by=request.user, case=_case(request, session, case_id), reason=form.cleaned_data["reason"]
        )
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Case cancelled; it stays on the list, struck through.")
    return redirect("scheduling:session_detail", session.pk)
