"""The record timeline, and any entry "as it was" on a chosen date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from epr.forms import DateInput, NHSFormMixin
from epr.parsing import parse_local_datetime
from records.access import Level
from records.registries.timeline import history_models, source_labels
from records.selectors import patients as selectors
from records.selectors import timeline
from records.views.base import patient_page


class TimelineFilter(NHSFormMixin, forms.Form):
    kinds = forms.MultipleChoiceField(label="Show", required=False, widget=forms.CheckboxSelectMultiple)
    since = forms.DateField(label="From", required=False, widget=DateInput)
    until = forms.DateField(label="To", required=False, widget=DateInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = list(source_labels().items())
        self.fields["kinds"].widget.attrs["class"] = "nhsuk-checkboxes__input"


def _start_of(day) -> datetime | None:
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


def _end_of(day) -> datetime | None:
    """The start of the next day; None (no limit) for the last day a date can be."""
    return _start_of(day + timedelta(days=1)) if day and day < date.max else None


def _as_of(text: str) -> datetime | None:
    """A date means the end of that day; a date-time that moment; None when it is not a real time."""
    if "T" not in text:
        day = parse_local_datetime(text)
        return (_end_of(day.date()) or timezone.now()) if day else None
    moment = parse_local_datetime(text)
    if moment is None:
        return None
    try:
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
    except (ValueError, OverflowError):
        return None


@patient_page(minimum=Level.CLINICAL)
def patient_timeline(request: HttpRequest, opened: selectors.PatientView) -> HttpResponse:
    form = TimelineFilter(request.GET or None)
    kinds, since, until = None, None, None
    if form.is_bound and form.is_valid():
        kinds = form.cleaned_data["kinds"] or None
        since = _start_of(form.cleaned_data["since"])
        until = _end_of(form.cleaned_data["until"])
    items = timeline.timeline(opened.patient, kinds=kinds, since=since, until=until)
    return render(
        request,
        "records/timeline.html",
        {"opened": opened, "patient": opened.patient, "form": form, "items": items},
    )


@patient_page(minimum=Level.CLINICAL)
def entry_history(
    request: HttpRequest, opened: selectors.PatientView, kind: str, entry_id: int
) -> HttpResponse:
    if kind not in history_models():
        raise Http404
    try:
        entry, versions = timeline.entry_versions(kind, opened.patient, entry_id)
    except ObjectDoesNotExist as exc:
        raise Http404("No such entry for this patient.") from exc
    as_of_text = request.GET.get("as_of", "")
    as_of = as_of_state = None
    if as_of_text:
        as_of = _as_of(as_of_text)
        if as_of is not None:
            as_of_state = timeline.entry_as_of(kind, opened.patient, entry_id, as_of)
    return render(
        request,
        "records/entry_history.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "entry": entry,
            "versions": versions,
            "kind": kind,
            "as_of_text": as_of_text,
            "as_of": as_of,
            "as_of_rows": timeline.entry_fields(as_of_state) if as_of_state else None,
            "bad_date": bool(as_of_text) and as_of is None,
            "current_rows": timeline.entry_fields(entry),
        },
    )
