"""Clinical note pages: the list, writing from a template, drafts, signing, countersigning, amending,
marking in error and each note's history. Thin: parse, check, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from records import services
from records.access import Level
from records.errors import RecordError
from records.forms.notes import NoteForm
from records.forms.patients import ReasonForm
from records.models import ClinicalNote, NoteStatus, NoteType
from records.selectors import notes as selectors_notes
from records.selectors import patients as selectors
from records.views.base import (
    NOT_DONE,
    patient_form_page,
    patient_page,
    posted_version,
    require_perm,
    submitted,
)

ADD = "records.add_clinicalnote"
CHANGE = "records.change_clinicalnote"
COUNTERSIGN = "records.countersign_clinicalnote"
PAGE_SIZE = 25


def _note(request: HttpRequest, opened: selectors.PatientView, note_id: int) -> ClinicalNote:
    note = selectors_notes.note_of(request.user, opened.patient, note_id)
    if note is None:
        raise Http404("No such note for this patient.")
    return note


def _signed_message(note: ClinicalNote) -> str:
    if note.status == NoteStatus.AWAITING_COUNTERSIGNATURE:
        return "Note signed. It needs countersigning by a nurse or doctor."
    return "Note signed."


def _form_page(request, opened, form, *, title: str, note_template, note=None, amending=False):
    return patient_form_page(
        request,
        opened,
        form,
        title=title,
        button="Save amendment" if amending else "Sign note",
        template="records/note_form.html",
        note_template=note_template,
        note=note,
        amending=amending,
    )


def _written(request: HttpRequest, opened: selectors.PatientView, note: ClinicalNote) -> HttpResponse:
    if note.is_draft:
        messages.success(request, "Draft saved. Only you can see it until you sign it.")
        return redirect("records:note_edit", opened.patient.pk, note.pk)
    messages.success(request, _signed_message(note))
    return redirect("records:note_list", opened.patient.pk)


@patient_page(minimum=Level.CLINICAL)
def note_list(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    note_type = request.GET.get("type", "")
    if note_type not in NoteType.values:
        note_type = ""
    page = Paginator(
        selectors_notes.notes_of(request.user, opened.patient, note_type=note_type), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    notes = list(page.object_list)
    user = request.user
    may_change, may_countersign = user.has_perm(CHANGE), user.has_perm(COUNTERSIGN)
    for note in notes:
        note.user_may_edit = note.is_draft and note.author_id == user.pk and may_change
        note.user_may_amend = note.is_signed and may_change and note.may_amend(user)
        note.user_may_countersign = may_countersign and note.may_countersign(user)
    return render(
        request,
        "records/notes.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "notes": notes,
            "page": page,
            "note_type": note_type,
            "note_types": NoteType.choices,
        },
    )


@patient_page(minimum=Level.CLINICAL)
def note_new(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    require_perm(request, ADD, "Your role may not do this with clinical notes.")
    templates = selectors_notes.templates_for(request.user)
    chosen = request.POST.get("template") or request.GET.get("template")
    if not chosen:
        return render(
            request,
            "records/note_choose.html",
            {"opened": opened, "patient": opened.patient, "templates": templates},
        )
    template = next((t for t in templates if str(t.pk) == chosen), None)
    if template is None:
        raise Http404("No such template, or your role may not write it.")
    action = request.POST.get("action")
    form = NoteForm(
        request.POST or None,
        definitions=template.fields,
        enforce_required=action != "draft",
        initial={"title": template.name},
    )
    note = submitted(
        request,
        form,
        lambda data: services.note_start(
            author=request.user,
            patient=opened.patient,
            template=template,
            encounter=opened.current_stay.encounter if opened.current_stay else None,
            title=data["title"],
            values=form.values(),
            free_text=data["free_text"],
            sign=action == "sign",
        ),
    )
    if note is not NOT_DONE:
        return _written(request, opened, note)
    return _form_page(request, opened, form, title=f"Write a note: {template.name}", note_template=template)


@patient_page(minimum=Level.CLINICAL)
def note_edit(request: HttpRequest, opened: selectors.PatientView, note_id: int) -> HttpResponse:
    require_perm(request, CHANGE, "Your role may not do this with clinical notes.")
    note = _note(request, opened, note_id)
    if not note.is_draft or note.author_id != request.user.pk:
        messages.info(request, "That note is signed; amend it instead.")
        return redirect("records:note_list", opened.patient.pk)
    action = request.POST.get("action")
    form = NoteForm(
        request.POST or None,
        definitions=note.fields,
        enforce_required=action != "draft",
        note=None if request.method == "POST" else note,
    )

    def save(data: dict) -> ClinicalNote:
        change = {
            "note": note,
            "expected_version": data["version"] or 0,
            "values": form.values(),
            "free_text": data["free_text"],
            "title": data["title"],
        }
        if action == "sign":
            return services.note_sign(signed_by=request.user, **change)
        return services.note_save_draft(saved_by=request.user, **change)

    saved = submitted(request, form, save)
    if saved is not NOT_DONE:
        return _written(request, opened, saved)
    return _form_page(
        request, opened, form, title=f"Draft: {note.title}", note_template=note.template, note=note
    )


@require_POST
@patient_page(minimum=Level.CLINICAL)
def note_countersign(request: HttpRequest, opened: selectors.PatientView, note_id: int) -> HttpResponse:
    require_perm(request, COUNTERSIGN, "Your role may not do this with clinical notes.")
    note = _note(request, opened, note_id)
    try:
        services.note_countersign(
            countersigned_by=request.user,
            note=note,
            expected_version=posted_version(request),
        )
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Countersigned: {note.title}.")
    return redirect("records:note_list", opened.patient.pk)


@patient_page(minimum=Level.CLINICAL)
def note_amend(request: HttpRequest, opened: selectors.PatientView, note_id: int) -> HttpResponse:
    require_perm(request, CHANGE, "Your role may not do this with clinical notes.")
    note = _note(request, opened, note_id)
    if not note.is_signed:
        messages.info(request, "Only a signed note can be amended.")
        return redirect("records:note_list", opened.patient.pk)
    if not note.may_amend(request.user):
        raise PermissionDenied("Only the author or a doctor can amend this note.")
    form = NoteForm(
        request.POST or None,
        definitions=note.fields,
        with_reason=True,
        note=None if request.method == "POST" else note,
    )
    done = submitted(
        request,
        form,
        lambda data: services.note_amend(
            amended_by=request.user,
            note=note,
            expected_version=data["version"] or 0,
            values=form.values(),
            free_text=data["free_text"],
            title=data["title"],
            reason=data["reason"],
        ),
    )
    if done is not NOT_DONE:
        messages.success(request, "Note amended; the earlier version is kept in its history.")
        return redirect("records:note_list", opened.patient.pk)
    return _form_page(
        request,
        opened,
        form,
        title=f"Amend: {note.title}",
        note_template=note.template,
        note=note,
        amending=True,
    )


@require_POST
@patient_page(minimum=Level.CLINICAL)
def note_mark_error(request: HttpRequest, opened: selectors.PatientView, note_id: int) -> HttpResponse:
    require_perm(request, CHANGE, "Your role may not do this with clinical notes.")
    note = _note(request, opened, note_id)
    if not note.is_draft and not note.may_amend(request.user):
        raise PermissionDenied("Only the author or a doctor can mark this note as entered in error.")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason the note was made in error.")
    else:
        try:
            services.note_mark_error(marked_by=request.user, note=note, reason=form.cleaned_data["reason"])
        except RecordError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Marked as entered in error. It stays on the record, struck through.")
    return redirect("records:note_list", opened.patient.pk)


@patient_page(minimum=Level.CLINICAL)
def note_history(request: HttpRequest, opened: selectors.PatientView, note_id: int) -> HttpResponse:
    note = _note(request, opened, note_id)
    return render(
        request,
        "records/note_history.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "note": note,
            "versions": selectors_notes.note_versions(request.user, note),
        },
    )
