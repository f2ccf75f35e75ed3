"""A patient's appointments, through the patient page's access door: the list, finding a free slot
and booking it (or moving an appointment to it, or rebooking one the hospital cancelled), one
appointment's page (arrived, seen, did not attend, could not wait; its note; cancelling) and its
letter as a PDF."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.audit.models import Action
from epr.parsing import ascii_int
from records.access import Level
from records.errors import RecordError
from records.selectors.patients import PatientView
from records.views.base import patient_page, posted_version, refusal_on_form, require_perm
from scheduling.forms.clinics import BookForm, CancelForm, NoteForm, SlotSearchForm
from scheduling.letters import appointment_letter_pdf
from scheduling.models import Appointment, AppointmentStatus, CancelledBy, SlotStatus
from scheduling.selectors import clinics as selectors
from scheduling.services import appointments as services
from scheduling.services.appointments import NEXT

BOOK = "scheduling.book_appointment"
RECORD = "scheduling.change_appointment"
VIEW = "scheduling.view_appointment"

# The buttons on an appointment, in the order a clinic runs.
STATUS_BUTTONS = (
    (AppointmentStatus.ARRIVED, "Arrived"),
    (AppointmentStatus.SEEN, "Seen"),
    (AppointmentStatus.DNA, "Did not attend"),
    (AppointmentStatus.COULD_NOT_WAIT, "Could not wait"),
    (AppointmentStatus.BOOKED, "Back to booked"),
)


def _context(opened: PatientView, **extra: Any) -> dict[str, Any]:
    return {"opened": opened, "patient": opened.patient, **extra}


def _appointment(opened: PatientView, appointment_id: int) -> Appointment:
    appointment = selectors.appointment_of(opened.patient, appointment_id)
    if appointment is None:
        raise Http404("No such appointment for this patient")
    return appointment


@patient_page(minimum=Level.DEMOGRAPHIC)
def patient_appointments(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see appointments.")
    return render(
        request,
        "scheduling/clinics/patient_appointments.html",
        _context(opened, appointments=selectors.patient_appointments(opened.patient)),
    )


def _moving(request: HttpRequest, opened: PatientView) -> tuple[Appointment | None, Appointment | None]:
    """The appointment being moved (?move=) or rebooked (?rebook=), if any."""
    source = request.POST if request.method == "POST" else request.GET
    move = ascii_int(source.get("move", ""))
    rebook = ascii_int(source.get("rebook", ""))
    return (
        _appointment(opened, move) if move else None,
        _appointment(opened, rebook) if rebook else None,
    )


@patient_page(minimum=Level.DEMOGRAPHIC)
def book_search(request: HttpRequest, opened: PatientView) -> HttpResponse:
    """Free slots for this patient, by specialty, type, consultant and dates; paged."""
    require_perm(request, BOOK, "Your role does not book appointments.")
    move, rebook = _moving(request, opened)
    form = SlotSearchForm(request.GET or None, consultants=selectors.consultants())
    page = selectors.free_slots(form.search(), page=ascii_int(request.GET.get("page", "")) or 1)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "scheduling/clinics/book_search.html",
        _context(opened, form=form, page=page, query=query.urlencode(), move=move, rebook=rebook),
    )


@patient_page(minimum=Level.DEMOGRAPHIC, action=Action.CREATE)
def book_slot(request: HttpRequest, opened: PatientView, slot_id: int) -> HttpResponse:
    """Confirm and book one slot; moving an appointment asks who asked and why as well."""
    require_perm(request, BOOK, "Your role does not book appointments.")
    slot = selectors.slot_for_booking(slot_id)
    if slot is None:
        raise Http404("No such slot")
    move, rebook = _moving(request, opened)
    if request.method == "GET" and (slot.status != SlotStatus.FREE or slot.starts_at <= timezone.now()):
        messages.error(request, "That slot is no longer free. Choose another slot.")
        return redirect(_search_again(opened.patient.pk, move, rebook))
    posted = request.POST if request.method == "POST" else None
    form: BookForm | CancelForm
    if move is not None:
        form = CancelForm(posted, initial={"version": move.version}, prefix="move")
    else:
        form = BookForm(posted)
    if posted is not None and form.is_valid():
        try:
            booked = _do_book(request, opened, slot, form, move=move, rebook=rebook)
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(
                request, "Appointment booked. Download the letter below to send it to the patient."
            )
            return redirect("scheduling:appointment_detail", opened.patient.pk, booked.pk)
    return render(
        request,
        "scheduling/clinics/book_slot.html",
        _context(opened, slot=slot, form=form, move=move, rebook=rebook),
    )


def _search_again(patient_id: int, move: Appointment | None, rebook: Appointment | None) -> str:
    if move is not None:
        return search_url(patient_id, {"move": str(move.pk)})
    return search_url(patient_id, {"rebook": str(rebook.pk) if rebook else ""})


def _do_book(
    request: HttpRequest,
    opened: PatientView,
    slot: Any,
    form: Any,
    *,
    move: Appointment | None,
    rebook: Appointment | None,
) -> Appointment:
    if move is not None:
        return services.appointment_reschedule(
            by=request.user,
            appointment=move,
            slot=slot,
            cancelled_by=form.cleaned_data["cancelled_by"],
            reason=form.cleaned_data["reason"],
            version=form.cleaned_data["version"],
        )
    if rebook is not None:
        return services.appointment_rebook(by=request.user, appointment=rebook, slot=slot)
    return services.appointment_book(
        by=request.user, patient=opened.patient, slot=slot, notes=form.cleaned_data["notes"]
    )


@patient_page(minimum=Level.DEMOGRAPHIC)
def appointment_detail(request: HttpRequest, opened: PatientView, appointment_id: int) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see appointments.")
    appointment = _appointment(opened, appointment_id)
    allowed = NEXT.get(appointment.status, frozenset())
    return render(
        request,
        "scheduling/clinics/appointment_detail.html",
        _context(
            opened,
            appointment=appointment,
            buttons=[(code, label) for code, label in STATUS_BUTTONS if code in allowed],
            booked=appointment.status == AppointmentStatus.BOOKED,
        ),
    )


def _back(request: HttpRequest, opened: PatientView, appointment: Appointment) -> HttpResponse:
    """Back to the clinic list the button was pressed on, else to the appointment."""
    session_id = ascii_int(request.POST.get("session", ""))
    if session_id and session_id == appointment.slot.session_id:
        return redirect("scheduling:session_detail", session_id)
    return redirect("scheduling:appointment_detail", opened.patient.pk, appointment.pk)


@require_POST
@patient_page(minimum=Level.DEMOGRAPHIC, action=Action.UPDATE)
def appointment_status(request: HttpRequest, opened: PatientView, appointment_id: int) -> HttpResponse:
    require_perm(request, RECORD, "Your role does not record attendances.")
    appointment = _appointment(opened, appointment_id)
    status = request.POST.get("status", "")
    if status not in AppointmentStatus.values or status == AppointmentStatus.CANCELLED:
        messages.error(request, "Choose what happened: arrived, seen, did not attend or could not wait.")
        return _back(request, opened, appointment)
    try:
        services.appointment_record(
            by=request.user, appointment=appointment, status=status, version=posted_version(request)
        )
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        name = opened.patient.display_name
        messages.success(request, f"{name}: recorded {AppointmentStatus(status).label.lower()}.")
    return _back(request, opened, appointment)


@patient_page(minimum=Level.DEMOGRAPHIC, action=Action.UPDATE)
def appointment_note(request: HttpRequest, opened: PatientView, appointment_id: int) -> HttpResponse:
    require_perm(request, RECORD, "Your role does not change appointments.")
    appointment = _appointment(opened, appointment_id)
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        initial={"notes": appointment.notes, "version": appointment.version},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_note(
                by=request.user,
                appointment=appointment,
                notes=form.cleaned_data["notes"],
                version=form.cleaned_data["version"],
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(request, "Note saved.")
            return redirect("scheduling:appointment_detail", opened.patient.pk, appointment.pk)
    return render(
        request,
        "scheduling/clinics/appointment_form.html",
        _context(opened, appointment=appointment, form=form, title="Change the note", button="Save note"),
    )


@patient_page(minimum=Level.DEMOGRAPHIC, action=Action.UPDATE)
def appointment_cancel(request: HttpRequest, opened: PatientView, appointment_id: int) -> HttpResponse:
    require_perm(request, BOOK, "Your role does not cancel appointments.")
    appointment = _appointment(opened, appointment_id)
    form = CancelForm(
        request.POST if request.method == "POST" else None, initial={"version": appointment.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(
                by=request.user,
                appointment=appointment,
                cancelled_by=form.cleaned_data["cancelled_by"],
                reason=form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            told = (
                ""
                if form.cleaned_data["cancelled_by"] == CancelledBy.PATIENT
                else " It is on the To rebook list."
            )
            messages.success(request, f"Appointment cancelled; the slot is free for someone else.{told}")
            return redirect("scheduling:patient_appointments", opened.patient.pk)
    return render(
        request,
        "scheduling/clinics/appointment_form.html",
        _context(
            opened,
            appointment=appointment,
            form=form,
            title="Cancel the appointment",
            button="Cancel appointment",
        ),
    )


@patient_page(minimum=Level.DEMOGRAPHIC, action=Action.EXPORT)
def appointment_letter(request: HttpRequest, opened: PatientView, appointment_id: int) -> HttpResponse:
    require_perm(request, VIEW, "Your role does not see appointments.")
    appointment = _appointment(opened, appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise PermissionDenied("This appointment is cancelled: there is no letter to send.")
    pdf = appointment_letter_pdf(appointment)
    services.letter_exported(by=request.user, appointment=appointment)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="appointment-{opened.patient.hospital_number}-{appointment.pk}.pdf"'
    )
    return response


def search_url(patient_id: int, params: dict[str, str]) -> str:
    """The patient's slot search with the filters given (the search page without a patient hands over)."""
    base = reverse("scheduling:book_search", args=[patient_id])
    clean = {k: v for k, v in params.items() if v}
    return f"{base}?{urlencode(clean)}" if clean else base
