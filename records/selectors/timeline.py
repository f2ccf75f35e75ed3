"""One chronological view of a patient's record, assembled from the registered sources
(records/registries/timeline.py), and records' own sources (RECORD_SOURCES, registered by wiring.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from heapq import merge
from itertools import islice

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from records.models import (
    ENTERED_IN_ERROR,
    AlertTrigger,
    AllergyIntolerance,
    CarePlan,
    ClinicalAlert,
    ClinicalNote,
    Encounter,
    ObservationSet,
    Patient,
    Problem,
    WardStay,
)
from records.registries.alerts import alert_kind
from records.registries.timeline import TimelineItem, TimelineSource, history_models, sources


def _window(queryset, field: str, since, until, limit: int):
    if since:
        queryset = queryset.filter(**{f"{field}__gte": since})
    if until:
        queryset = queryset.filter(**{f"{field}__lt": until})
    return queryset.order_by(f"-{field}")[:limit]


def timeline(
    patient: Patient, *, kinds: Iterable[str] | None = None, since=None, until=None, limit: int = 100
) -> list[TimelineItem]:
    """The newest `limit` items across the chosen sources, newest first."""
    registered = sources()
    chosen = [k for k in (kinds or registered) if k in registered]
    streams = [
        sorted(registered[k].fetch(patient, since, until, limit), key=lambda i: i.at, reverse=True)
        for k in chosen
    ]
    return list(islice(merge(*streams, key=lambda i: i.at, reverse=True), limit))


def _by(user) -> str:
    return str(user) if user else "System"


def _stays(patient, since, until, limit):
    stays = _window(
        WardStay.objects.filter(encounter__patient=patient).select_related(
            "ward", "bed__bay", "moved_by", "encounter"
        ),
        "started_at",
        since,
        until,
        limit,
    )
    for s in stays:
        first = s.started_at == s.encounter.admitted_at
        yield TimelineItem(
            s.started_at,
            "admissions",
            "Admitted" if first else "Transferred",
            f"{s.ward}{', ' + str(s.bed) if s.bed else ''}",
            _by(s.moved_by),
        )


def _discharges(patient, since, until, limit):
    encounters = _window(
        Encounter.objects.filter(patient=patient, discharged_at__isnull=False).select_related(
            "discharged_by"
        ),
        "discharged_at",
        since,
        until,
        limit,
    )
    for e in encounters:
        yield TimelineItem(
            e.discharged_at,
            "admissions",
            "Discharged",
            e.get_discharge_destination_display(),
            _by(e.discharged_by),
            history_kind="admissions",
            entry_id=e.pk,
        )


def _admissions(patient, since, until, limit):
    yield from _stays(patient, since, until, limit)
    yield from _discharges(patient, since, until, limit)


def _allergies(patient, since, until, limit):
    for a in _window(
        AllergyIntolerance.objects.filter(patient=patient).select_related("recorded_by"),
        "recorded_at",
        since,
        until,
        limit,
    ):
        detail = ", ".join(
            x for x in (a.reaction, a.get_severity_display(), a.get_verification_display()) if x
        )
        yield TimelineItem(
            a.recorded_at,
            "allergies",
            f"Allergy: {a.substance}",
            detail,
            _by(a.recorded_by),
            a.status == ENTERED_IN_ERROR,
            "allergies",
            a.pk,
        )


def _problems(patient, since, until, limit):
    for p in _window(
        Problem.objects.filter(patient=patient).select_related("recorded_by"),
        "recorded_at",
        since,
        until,
        limit,
    ):
        detail = f"{p.get_clinical_status_display()}{' · ICD-10 ' + p.icd10_code if p.icd10_code else ''}"
        yield TimelineItem(
            p.recorded_at,
            "problems",
            f"Problem: {p.snomed_display}",
            detail,
            _by(p.recorded_by),
            p.status == ENTERED_IN_ERROR,
            "problems",
            p.pk,
        )


def _alerts_raised_by(sets: list[ObservationSet]) -> dict[int, tuple[str, ...]]:
    """What each set did to an alert, in one query: raised it, updated it, or made it urgent again."""
    raised: dict[int, list[str]] = {}
    for trigger in AlertTrigger.objects.filter(observation_set__in=sets).select_related("alert"):
        first = trigger.key == trigger.alert.key
        verb = "raised" if first else "updated"
        raised.setdefault(trigger.observation_set_id, []).append(
            f"{trigger.get_severity_display()} alert {verb}: {trigger.alert.get_status_display().lower()}"
        )
    return {pk: tuple(lines) for pk, lines in raised.items()}


def _observations(patient, since, until, limit):
    sets = list(
        _window(
            ObservationSet.objects.filter(patient=patient).select_related("recorded_by"),
            "taken_at",
            since,
            until,
            limit,
        )
    )
    raised = _alerts_raised_by(sets)
    for o in sets:
        title = f"Observations: NEWS2 {o.news2_total}" if o.news2_total is not None else "Observations"
        values = [
            f"RR {o.respiration_rate}" if o.respiration_rate else "",
            f"SpO2 {o.spo2}%" if o.spo2 else "",
            f"BP {o.systolic_bp}/{o.diastolic_bp or ''}" if o.systolic_bp else "",
            f"HR {o.pulse}" if o.pulse else "",
            f"T {o.temperature}" if o.temperature else "",
        ]
        yield TimelineItem(
            o.taken_at,
            "observations",
            title,
            " · ".join(v for v in values if v),
            _by(o.recorded_by),
            o.status == ENTERED_IN_ERROR,
            "observations",
            o.pk,
            raised.get(o.pk, ()),
        )


def _notes(patient, since, until, limit):
    """Signed notes only: a draft is its author's work in progress, not yet part of the record."""
    notes = ClinicalNote.objects.filter(patient=patient, signed_at__isnull=False).select_related("author")
    for n in _window(notes, "signed_at", since, until, limit):
        detail = n.get_status_display() + (f" · amended: {n.amendment_reason}" if n.amendment_reason else "")
        yield TimelineItem(
            n.signed_at,
            "notes",
            f"{n.get_note_type_display()}: {n.title}",
            detail,
            _by(n.author),
            n.status == ENTERED_IN_ERROR,
            "notes",
            n.pk,
        )


def _alerts(patient, since, until, limit):
    for a in _window(
        ClinicalAlert.objects.filter(patient=patient).select_related("acknowledged_by"),
        "raised_at",
        since,
        until,
        limit,
    ):
        state = f"{a.get_status_display()}{' by ' + str(a.acknowledged_by) if a.acknowledged_by else ''}"
        yield TimelineItem(
            a.raised_at,
            "alerts",
            f"{a.get_severity_display()}: {alert_kind(a.kind).label}",
            f"{a.message} ({state})",
            "Decision support",
        )


def _careplans(patient, since, until, limit):
    for c in _window(
        CarePlan.objects.filter(patient=patient).select_related("created_by"),
        "created_at",
        since,
        until,
        limit,
    ):
        yield TimelineItem(
            c.created_at,
            "careplans",
            f"Care plan: {c.need}",
            f"{c.get_status_display()}, review by {c.review_date:%d-%b-%Y}",
            _by(c.created_by),
            c.status == ENTERED_IN_ERROR,
            "careplans",
            c.pk,
        )


RECORD_SOURCES = (
    TimelineSource("admissions", "Admissions and transfers", _admissions, history_model=Encounter),
    TimelineSource("allergies", "Allergies", _allergies, history_model=AllergyIntolerance),
    TimelineSource("problems", "Problems", _problems, history_model=Problem),
    TimelineSource("observations", "Observations", _observations, history_model=ObservationSet),
    # A note's drafts, before it was signed, were never part of the record.
    TimelineSource(
        "notes",
        "Notes",
        _notes,
        history_model=ClinicalNote,
        visible=Q(signed_at__isnull=False),
        visible_version=lambda version: version.signed_at is not None,
    ),
    TimelineSource("alerts", "Alerts", _alerts),
    TimelineSource("careplans", "Care plans", _careplans, history_model=CarePlan),
)


def _visible(kind: str, patient: Patient):
    source = sources()[kind]
    return history_models()[kind]._default_manager.filter(patient=patient).filter(source.visible or Q())


def entry_as_of(kind: str, patient: Patient, entry_id: int, when: datetime):
    """The entry as it stood at `when` (its historical version), or None if it did not exist yet."""
    entry = _visible(kind, patient).get(pk=entry_id)
    try:
        version = entry.history.as_of(when)
    except ObjectDoesNotExist:
        return None
    shown = sources()[kind].visible_version
    return version if shown is None or shown(version) else None


def entry_versions(kind: str, patient: Patient, entry_id: int):
    entry = _visible(kind, patient).get(pk=entry_id)
    return entry, list(entry.history.select_related("history_user").order_by("-history_date"))


def entry_fields(instance) -> list[tuple[str, object]]:
    """An entry (or one of its versions) as label and shown value, for the entry history page."""
    hidden = {"id", "patient", "version", "history"}
    rows = []
    for field in instance._meta.concrete_fields:
        if field.name in hidden:
            continue
        display = getattr(instance, f"get_{field.name}_display", None)
        value = display() if callable(display) else getattr(instance, field.name)
        rows.append((field.verbose_name.capitalize(), value))
    return rows
