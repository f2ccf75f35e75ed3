"""The ward's whiteboard: per patient the latest NEWS2 and its trend, when observations are due, open
alerts by severity, allergies, resuscitation and escalation status and the expected discharge date.

Clinical columns are filled only for patients the user may open (a care relationship or break-glass);
the others show who is in the bed and nothing clinical. A fixed number of queries for any ward size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from epr.accounts.roles import Role
from records.access import (
    patients_with_care_relationship,
    sees_by_role,
)
from records.models import (
    ACTIVE_ALERT_STATUSES,
    AllergyIntolerance,
    AllergyKind,
    Bed,
    CarePlan,
    CarePlanStatus,
    ClinicalAlert,
    ClinicalNote,
    ClinicalStatus,
    EncounterStatus,
    EntryStatus,
    NoteStatus,
    ObservationSet,
    Patient,
    Problem,
    ProblemStatus,
    TreatmentEscalationPlan,
    Ward,
    WardStay,
)
from records.rules.news2 import News2Result

FIRST_OBSERVATIONS_DUE = timedelta(hours=1)  # as the overdue check: within an hour of admission
UNSCORED_INTERVAL = timedelta(hours=4)


@dataclass(frozen=True)
class ClinicalSummary:
    can_open: bool
    news2: ObservationSet | None = None  # the latest scored set
    trend: str = ""  # "up", "down", "same" against the scored set before it
    previous_score: int | None = None
    due_at: datetime | None = None
    alerts_urgent: int = 0
    alerts_other: int = 0
    allergies: str = ""  # "present", "none-known", "not-recorded"
    allergy_names: str = ""
    plan: TreatmentEscalationPlan | None = None

    @property
    def overdue(self) -> bool:
        return self.due_at is not None and self.due_at <= timezone.now()

    @property
    def news2_risk(self) -> str:
        return self.news2.news2_risk if self.news2 else ""

    @property
    def due_sort(self) -> str:
        return self.due_at.isoformat() if self.due_at else "9999"


def _latest_per_patient(queryset, patient_ids: list[int], rows: int) -> dict[int, list]:
    ranked = (
        queryset.filter(patient_id__in=patient_ids)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("patient_id")], order_by=[F("taken_at").desc(), F("pk").desc()]
            )
        )
        .filter(rank__lte=rows)
        .order_by("patient_id", "rank")
    )
    found: dict[int, list] = {}
    for obs in ranked:
        found.setdefault(obs.patient_id, []).append(obs)
    return found


def _interval(obs: ObservationSet | None) -> timedelta:
    if obs is None or obs.news2_total is None:
        return UNSCORED_INTERVAL
    return News2Result(
        total=obs.news2_total, scores=obs.news2_scores, scale=obs.spo2_scale
    ).monitoring_interval


def _trend(latest: ObservationSet | None, before: ObservationSet | None) -> str:
    if latest is None or before is None:
        return ""
    if latest.news2_total > before.news2_total:
        return "up"
    return "down" if latest.news2_total < before.news2_total else "same"


def clinical_summaries(
    user, patients: list[Patient], admitted_at: dict[int, datetime]
) -> dict[int, ClinicalSummary]:
    """Whiteboard facts for each patient; `admitted_at` gives the first due time before any set."""
    openable = patients_with_care_relationship(user, patients)
    ids = [p.pk for p in patients if p.pk in openable]
    if not ids:
        return {p.pk: ClinicalSummary(can_open=False) for p in patients}
    scored = _latest_per_patient(
        ObservationSet.objects.filter(status=EntryStatus.FINAL, news2_total__isnull=False), ids, 2
    )
    alerts: dict[int, dict[str, int]] = {}
    for row in (
        ClinicalAlert.objects.filter(patient_id__in=ids, status__in=ACTIVE_ALERT_STATUSES)
        .values("patient_id", "severity")
        .annotate(n=Count("pk"))
    ):
        alerts.setdefault(row["patient_id"], {})[row["severity"]] = row["n"]
    allergies: dict[int, list[AllergyIntolerance]] = {}
    for allergy in AllergyIntolerance.objects.filter(
        patient_id__in=ids, status=EntryStatus.FINAL, clinical_status=ClinicalStatus.ACTIVE
    ).order_by("substance_display", "substance_text"):
        allergies.setdefault(allergy.patient_id, []).append(allergy)
    plans = {
        plan.patient_id: plan
        for plan in TreatmentEscalationPlan.objects.filter(patient_id__in=ids, status=EntryStatus.FINAL)
        .order_by("patient_id", "-recorded_at", "-pk")
        .distinct("patient_id")
    }
    summaries = {}
    for patient in patients:
        if patient.pk not in openable:
            summaries[patient.pk] = ClinicalSummary(can_open=False)
            continue
        pair = scored.get(patient.pk, [])
        last = pair[0] if pair else None  # observations are due from the last complete set
        due = last.taken_at + _interval(last) if last else admitted_at.get(patient.pk)
        if last is None and due is not None:
            due = due + FIRST_OBSERVATIONS_DUE
        recorded = allergies.get(patient.pk, [])
        real = [a for a in recorded if a.kind != AllergyKind.NO_KNOWN_ALLERGY]
        counts = alerts.get(patient.pk, {})
        summaries[patient.pk] = ClinicalSummary(
            can_open=True,
            news2=pair[0] if pair else None,
            previous_score=pair[1].news2_total if len(pair) > 1 else None,
            trend=_trend(pair[0] if pair else None, pair[1] if len(pair) > 1 else None),
            due_at=due,
            alerts_urgent=counts.get("urgent", 0),
            alerts_other=counts.get("alert", 0),
            allergies="present" if real else ("none-known" if recorded else "not-recorded"),
            allergy_names=", ".join(a.substance for a in real),
            plan=plans.get(patient.pk),
        )
    return summaries


def current_plan(patient: Patient) -> TreatmentEscalationPlan | None:
    return (
        TreatmentEscalationPlan.objects.filter(patient=patient, status=EntryStatus.FINAL)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class PatientSummary:
    """The clinical summary a patient's page opens on; a fixed number of queries."""

    facts: ClinicalSummary
    alerts: list[ClinicalAlert]
    problems: list
    notes: list
    reviews_due: list


def patient_summary(user, patient: Patient, admitted_at: datetime | None) -> PatientSummary:
    facts = clinical_summaries(user, [patient], {patient.pk: admitted_at} if admitted_at else {})[patient.pk]
    alerts = list(
        ClinicalAlert.objects.filter(patient=patient, status__in=ACTIVE_ALERT_STATUSES).order_by(
            "-severity", "needs_response_since"
        )
    )
    problems = list(
        Problem.objects.filter(
            patient=patient, status=EntryStatus.FINAL, clinical_status=ProblemStatus.ACTIVE
        ).order_by("-onset_date", "-pk")[:10]
    )
    notes = list(
        ClinicalNote.objects.filter(patient=patient, status__in=[NoteStatus.SIGNED, NoteStatus.COUNTERSIGNED])
        .select_related("author")
        .order_by("-signed_at", "-pk")[:5]
    )
    reviews_due = list(
        CarePlan.objects.filter(
            patient=patient,
            status=CarePlanStatus.ACTIVE,
            review_date__lte=timezone.localdate() + timedelta(days=1),
        )
        .select_related("responsible")
        .order_by("review_date")
    )
    return PatientSummary(facts=facts, alerts=alerts, problems=problems, notes=notes, reviews_due=reviews_due)


WHITEBOARD_SORTS = {
    "bed": lambda row: (row.sort_bed,),
    "name": lambda row: (row.sort_name,),
    "news2": lambda row: (-(row.summary.news2.news2_total if row.summary.news2 else -1), row.sort_bed),
    "due": lambda row: (row.summary.due_sort, row.sort_bed),
}


@dataclass(frozen=True)
class WhiteboardRow:
    bed: Any
    stay: Any
    summary: ClinicalSummary | None

    @property
    def patient(self):
        return self.stay.encounter.patient if self.stay else None

    @property
    def sort_bed(self) -> str:
        ward = self.stay.ward.name if self.stay else ""
        if self.bed is None:
            return f"{ward} ~"
        return f"{ward} {self.bed.bay.name} {self.bed.label:>6}"

    @property
    def sort_name(self) -> str:
        return self.patient.display_name if self.patient else "~"


def whiteboard_rows(user, stays_by_bed: list[tuple[Any, Any]], sort: str = "bed") -> list[WhiteboardRow]:
    """The ward whiteboard (or My patients): a row per bed with the patient's clinical summary, sorted
    by bed, name, NEWS2 (highest first) or when observations are due; sorted by a patient's column,
    empty beds go last. An unknown sort is by bed."""
    patients = [stay.encounter.patient for _, stay in stays_by_bed if stay]
    admitted = {stay.encounter.patient_id: stay.encounter.admitted_at for _, stay in stays_by_bed if stay}
    summaries = clinical_summaries(user, patients, admitted)
    rows = [
        WhiteboardRow(bed=bed, stay=stay, summary=summaries.get(stay.encounter.patient_id) if stay else None)
        for bed, stay in stays_by_bed
    ]
    key = WHITEBOARD_SORTS.get(sort, WHITEBOARD_SORTS["bed"])
    if sort == "bed":
        return sorted(rows, key=key)
    # Sorted by a patient's column, empty beds go last.
    return sorted([r for r in rows if r.stay], key=key) + [r for r in rows if not r.stay]


@dataclass(frozen=True)
class BedRow:
    bed: Bed | None
    stay: WardStay | None


def wards_for_user(user) -> QuerySet[Ward]:
    return Ward.objects.filter(staff_group__user=user, active=True).select_related("site")


def ward_list(ward: Ward) -> list[BedRow]:
    """Every bed on the ward with who is in it, plus patients on the ward without a bed; 3 queries."""
    beds = list(
        Bed.objects.filter(ward=ward, active=True).select_related("bay").order_by("bay__name", "label")
    )
    stays = list(
        WardStay.objects.filter(ward=ward, ended_at__isnull=True).select_related(
            "ward", "encounter__patient", "encounter__consultant", "encounter__team", "bed__bay"
        )
    )
    by_bed = {s.bed_id: s for s in stays if s.bed_id}
    rows = [BedRow(bed=b, stay=by_bed.get(b.pk)) for b in beds]
    rows += [BedRow(bed=None, stay=s) for s in stays if not s.bed_id]
    return rows


def team_patients(user) -> list[WardStay]:
    """Current stays of patients under the user's treating teams (a consultant's or junior's list)."""
    return list(
        WardStay.objects.filter(
            ended_at__isnull=True,
            encounter__team__staff_group__user=user,
            encounter__status=EncounterStatus.ACTIVE,
        )
        .select_related("ward", "bed__bay", "encounter__patient", "encounter__consultant", "encounter__team")
        .order_by("ward__name", "bed__bay__name", "bed__label")
    )


def free_beds(ward: Ward) -> QuerySet[Bed]:
    return (
        Bed.objects.filter(ward=ward, active=True)
        .exclude(Exists(WardStay.objects.filter(bed=OuterRef("pk"), ended_at__isnull=True)))
        .select_related("bay")
        .order_by("bay__name", "label")
    )


def wards_to_choose(user) -> list[Ward]:
    """Ward staff choose among their wards; doctors (on call, at any ward) and the roles that see every
    ward by role choose any ward."""
    if sees_by_role(user) or user.role == Role.DOCTOR:
        return list(Ward.objects.filter(active=True).select_related("site").order_by("site__name", "name"))
    return list(wards_for_user(user))
