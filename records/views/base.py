"""The view kit every page about a patient uses: open the patient through the one access door (or
show the break-glass page), show a refused rule on the form, run a service for a posted form, strike an
entry through, and draw a form page under the patient's banner."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from epr.audit.models import Action
from epr.parsing import ascii_int
from records.access import Level
from records.errors import NoRelationship, RecordError
from records.forms.patients import BreakGlassForm, ReasonForm
from records.models import Patient, PatientStatus
from records.selectors import patients as selectors

PatientView = Callable[..., HttpResponse]


def patient_page(
    minimum: Level = Level.DEMOGRAPHIC, action: str = Action.VIEW
) -> Callable[[PatientView], PatientView]:
    """Open the patient through the access helper (audited); refuse with the break-glass page."""

    def decorate(view: PatientView) -> PatientView:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, patient_id: int, *args, **kwargs) -> HttpResponse:
            try:
                opened = selectors.patient_for_user(request.user, patient_id, minimum=minimum, action=action)
            except Patient.DoesNotExist as exc:
                raise Http404("No such patient") from exc
            except NoRelationship as refused:
                return render(
                    request,
                    "records/no_relationship.html",
                    {
                        "patient": refused.patient,
                        "form": BreakGlassForm(),
                        "can_break_glass": getattr(request.user, "is_clinical", False),
                    },
                    status=403,
                )
            if opened.patient.status == PatientStatus.MERGED and request.method == "GET":
                messages.info(request, "That record was merged; this is the record it was merged into.")
                return redirect("records:patient_detail", opened.patient.merged_into_id)
            return view(request, opened, *args, **kwargs)

        return wrapper

    return decorate


def refusal_on_form(form, exc: RecordError) -> None:
    """A refused rule shown on the form: each refused field's message on that field, the rest (or a
    refusal of the whole change) above the form. The one place a RecordError becomes form errors."""
    refused: dict[str | None, str] = {**exc.errors} or {None: exc.message}
    for field, message in refused.items():
        form.add_error(field if field in form.fields else None, message)


def require_perm(
    request: HttpRequest, perm: str, refusal: str = "Your role may not make this change."
) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(refusal)


def posted_version(request: HttpRequest) -> int:
    """The version a POSTed edit was based on. A missing or garbled one is 0, which no record has, so
    the service refuses it as a stale edit instead of saving over someone else's change."""
    return ascii_int(request.POST.get("version", "")) or 0


NOT_DONE = object()


def submitted(request: HttpRequest, form, action: Callable[[dict], Any]) -> Any:
    """Run a service for a valid POSTed form and return its result; a refused rule becomes a form
    error. Returns NOT_DONE when the form is to be shown (again)."""
    if request.method != "POST" or not form.is_valid():
        return NOT_DONE
    try:
        return action(form.cleaned_data)
    except RecordError as exc:
        refusal_on_form(form, exc)
        return NOT_DONE


def strike_through_posted(
    request: HttpRequest, mark: Callable[[str, int], Any], *, what: str = "entry"
) -> None:
    """Mark an entry entered in error from a posted reason and version, and say how it went."""
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Give the reason the {what} was made in error.")
        return
    try:
        mark(form.cleaned_data["reason"], posted_version(request))
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Marked as entered in error. It stays on the record, struck through.")


def patient_form_page(
    request: HttpRequest,
    opened: selectors.PatientView,
    form,
    *,
    title: str,
    button: str,
    template: str = "records/encounter_form.html",
    **extra: Any,
) -> HttpResponse:
    context = {"opened": opened, "patient": opened.patient, "form": form, "title": title, "button": button}
    return render(request, template, {**context, **extra})
