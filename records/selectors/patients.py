"""Reads of the patient record. Anything that shows a patient goes through `patient_for_user`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.selectors import audit_events_for_patients
from epr.audit.services import audit_patients_shown
from records.access import (
    CARE_PERMISSION,
    Level,
    PatientAccess,
    open_record,
    patients_with_care_relationship,
    sees_by_role,
)
from records.models import (
    AllergyIntolerance,
    AllergyKind,
    BreakGlassAccess,
    ClinicalStatus,
    Encounter,
    EncounterStatus,
    EntryStatus,
    ObservationSet,
    Patient,
    PatientGroupObjectPermission,
    PatientMerge,
    PatientStatus,
    SpO2ScaleSetting,
    TreatmentEscalationPlan,
    WardStay,
)
from records.rules import patients as rules
from records.selectors.history import with_previous
from records.selectors.wards import current_plan


@dataclass(frozen=True)
class AllergySummary:
    state: str  # "present", "none-known" or "not-recorded": none known is not the same as not asked
    allergies: list[AllergyIntolerance]

    @property
    def present(self) -> bool:
        return self.state == "present"


def allergy_summary(patient: Patient) -> AllergySummary:
    active = list(
        AllergyIntolerance.objects.filter(
            patient=patient, status=EntryStatus.FINAL, clinical_status=ClinicalStatus.ACTIVE
        ).order_by("-criticality", "substance_display", "substance_text")
    )
    allergies = [a for a in active if a.kind != AllergyKind.NO_KNOWN_ALLERGY]
    if allergies:
        return AllergySummary("present", allergies)
    return AllergySummary("none-known" if active else "not-recorded", [])


@dataclass(frozen=True)
class BannerClinical:
    """What every clinical page's banner shows besides allergies: resuscitation and escalation status,
    SpO2 Scale 2 when a doctor set it, and the latest weight with its date."""

    plan: TreatmentEscalationPlan | None
    spo2_scale_two: bool
    weight: ObservationSet | None


def latest_weight(patient: Patient) -> ObservationSet | None:
    """The newest set with a weight (not struck through): the banner's, and what a weight-based dose
    is calculated from. One query."""
    return (
        ObservationSet.objects.filter(patient=patient, status=EntryStatus.FINAL, weight__isnull=False)
        .only("weight", "taken_at", "patient_id")
        .order_by("-taken_at", "-pk")
        .first()
    )


def banner_clinical(patient: Patient) -> BannerClinical:
    scale = (
        SpO2ScaleSetting.objects.filter(patient=patient).order_by("-set_at", "-pk").values("scale").first()
    )
    weight = latest_weight(patient)
    return BannerClinical(
        plan=current_plan(patient), spo2_scale_two=bool(scale and scale["scale"] == 2), weight=weight
    )


@dataclass(frozen=True)
class PatientView:
    patient: Patient
    access: PatientAccess
    current_stay: WardStay | None
    allergies: AllergySummary | None = None
    clinical: BannerClinical | None = None


def current_stay(patient: Patient) -> WardStay | None:
    return (
        WardStay.objects.select_related("ward", "bed__bay", "encounter")
        .filter(encounter__patient=patient, ended_at__isnull=True)
        .first()
    )


def patient_for_user(
    user, patient_id: int, *, minimum: Level = Level.DEMOGRAPHIC, action: str = Action.VIEW
) -> PatientView:
    """Fetch a patient the user may see and audit it; raises Patient.DoesNotExist or NoRelationship."""
    patient = Patient.objects.get(pk=patient_id)
    access = open_record(user, patient, minimum=minimum, audit_action=action)
    return PatientView(
        patient=patient,
        access=access,
        current_stay=current_stay(patient),
        allergies=allergy_summary(patient) if access.clinical else None,
        clinical=banner_clinical(patient) if access.clinical else None,
    )


@dataclass(frozen=True)
class SearchResult:
    patient: Patient
    can_open: bool
    location: WardStay | None


def _current_stays_prefetch() -> Prefetch:
    return Prefetch(
        "encounters",
        queryset=Encounter.objects.filter(status=EncounterStatus.ACTIVE).prefetch_related(
            Prefetch(
                "ward_stays",
                queryset=WardStay.objects.filter(ended_at__isnull=True).select_related("ward", "bed__bay"),
                to_attr="current_stays",
            )
        ),
        to_attr="active_encounters",
    )


def patient_search_queryset(
    *,
    nhs_number: str = "",
    hospital_number: str = "",
    name: str = "",
    date_of_birth: date | None = None,
    include_inactive: bool = False,
) -> QuerySet[Patient]:
    """Search by NHS number (spaces allowed), hospital number, or name fragment with date of birth."""
    queryset = Patient.objects.all()
    if not include_inactive:
        queryset = queryset.filter(status=PatientStatus.ACTIVE)
    if nhs_number:
        queryset = queryset.filter(nhs_number=rules.normalise_nhs_number(nhs_number))
    if hospital_number:
        # Hospital numbers are issued upper-case; an exact match uses the unique index.
        queryset = queryset.filter(hospital_number=hospital_number.strip().upper())
    if date_of_birth:
        queryset = queryset.filter(date_of_birth=date_of_birth)
    for fragment in rules.search_key(name).split():
        queryset = queryset.filter(
            Q(family_name_key__contains=fragment) | Q(given_names_key__contains=fragment)
        )
    return queryset.order_by("family_name_key", "given_names_key", "pk")


def patient_search(user, *, limit: int = 50, **criteria) -> list[SearchResult]:
    """Search results with each patient's location and whether this user may open the record."""
    patients = list(patient_search_queryset(**criteria).prefetch_related(_current_stays_prefetch())[:limit])
    openable = patients_with_care_relationship(user, patients)
    demographic = sees_by_role(user)
    # Each patient found gets a row of their own, so their access log shows the search.
    audit_patients_shown(
        user=user,
        action=Action.SEARCH,
        patient_ids=[p.pk for p in patients],
        detail={"list": "patient search", "criteria": sorted(k for k, v in criteria.items() if v)},
    )
    return [
        SearchResult(patient=p, can_open=demographic or p.pk in openable, location=_stay_of(p))
        for p in patients
    ]


def _stay_of(patient: Patient) -> WardStay | None:
    for encounter in getattr(patient, "active_encounters", []):
        for stay in encounter.current_stays:
            return stay
    return None


def encounters_of(patient: Patient) -> list[Encounter]:
    return list(
        Encounter.objects.filter(patient=patient)
        .select_related("consultant", "team")
        .prefetch_related(
            Prefetch(
                "ward_stays",
                queryset=WardStay.objects.select_related("ward", "bed__bay").order_by("started_at"),
            )
        )
        .order_by("-admitted_at")
    )


def access_log(patient: Patient):
    return audit_events_for_patients(merged_ids(patient))


def break_glass_log() -> QuerySet[BreakGlassAccess]:
    return BreakGlassAccess.objects.select_related("user", "patient", "reviewed_by").order_by("-started_at")


def observation_sets(patient: Patient, *, before=None, limit: int = 24) -> list[ObservationSet]:
    """The latest sets (oldest first, for a left-to-right chart), paged backwards by time; one query."""
    queryset = ObservationSet.objects.filter(patient=patient, status=EntryStatus.FINAL).select_related(
        "recorded_by"
    )
    if before is not None:
        queryset = queryset.filter(taken_at__lt=before)
    return list(reversed(queryset.order_by("-taken_at", "-pk")[:limit]))


def cared_for_by(user) -> Q:
    """In SQL, for any model with a `patient`: the user may open that patient now (a care relationship
    held as a group object permission, or break-glass that has not expired) - as records.access decides."""
    care = PatientGroupObjectPermission.objects.filter(
        content_object=OuterRef("patient"), group__user=user, permission__codename=CARE_PERMISSION
    )
    glass = BreakGlassAccess.objects.filter(
        patient=OuterRef("patient"), user=user, expires_at__gt=timezone.now()
    )
    return Q(Exists(care)) | Q(Exists(glass))


def audit_list_shown(user, *, listing: str, patient_ids: list[int]) -> None:
    """A list page read each patient it showed: one audit row per patient, the list named in each, so
    every one of them finds it in "who accessed this record"; one INSERT whatever the list's length."""
    audit_patients_shown(user=user, action=Action.LIST, patient_ids=patient_ids, detail={"list": listing})


def latest_scored_set(patient: Patient) -> ObservationSet | None:
    """The newest set that has a NEWS2 score (incomplete sets are skipped): what the chart's "Latest
    NEWS2" shows and the monitoring interval comes from; one query."""
    return (
        ObservationSet.objects.filter(patient=patient, status=EntryStatus.FINAL, news2_total__isnull=False)
        .select_related("recorded_by")
        .order_by("-taken_at", "-pk")
        .first()
    )


# --- Identity safety: duplicates, NHS number holders, comparisons and history (identity pages) ---


def demographic_label(field_name: str) -> str:
    """The label a user knows a demographic field by (the form's label, else the model's verbose name)."""
    return DEMOGRAPHIC_LABELS.get(field_name) or Patient._meta.get_field(field_name).verbose_name.capitalize()


DEMOGRAPHIC_LABELS = {
    "nhs_number": "NHS number",
    "nhs_number_status": "NHS number verification status",
    "temporary_identity": "Temporary identity",
    "family_name": "Family name (surname)",
    "given_names": "Given names",
    "date_of_birth": "Date of birth",
    "date_of_death": "Date of death",
    "time_of_death": "Time of death",
    "address_line_1": "Address line 1",
    "address_line_2": "Address line 2",
    "gp_practice_code": "GP practice ODS code",
    "gp_practice_name": "GP practice name",
    "next_of_kin_name": "Next of kin name",
    "next_of_kin_relationship": "Next of kin relationship",
    "next_of_kin_phone": "Next of kin phone",
    "ethnic_category": "Ethnic category",
    "interpreter_required": "Needs an interpreter",
}


def demographic_value(record, field_name: str) -> str:
    """A field's value as shown to people: choice labels, Yes/No, dd-Mon-yyyy, NHS number in 3 3 4."""
    value = getattr(record, field_name)
    field = Patient._meta.get_field(field_name)
    if value is None or value == "":
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if field_name == "nhs_number":
        return rules.format_nhs_number(value)
    if isinstance(value, date):
        return f"{value:%d-%b-%Y}"
    if hasattr(value, "strftime"):
        return value.strftime("%H:%M")
    return str(value)


@dataclass(frozen=True)
class HistoryRow:
    record: object  # a historical Patient row
    changes: list[FieldComparison]  # old (left) -> new (right), only the fields that changed


def demographic_history(patient: Patient, fields: tuple[str, ...]) -> list[HistoryRow]:
    """Every version of the patient's details, newest first, each with what changed from the one
    before (labels and shown values, not field names); two queries."""
    versions = list(patient.history.select_related("history_user").order_by("-history_date", "-history_id"))
    rows = []
    for newer, older in with_previous(versions):
        changes = []
        if older is not None:
            for change in newer.diff_against(older, included_fields=list(fields)).changes:
                changes.append(
                    FieldComparison(
                        demographic_label(change.field),
                        demographic_value(older, change.field),
                        demographic_value(newer, change.field),
                    )
                )
        rows.append(HistoryRow(record=newer, changes=changes))
    return rows


def rollback_preview(patient: Patient, history_id: int, fields: tuple[str, ...]):
    """The version to roll back to and, for each field that would change, its current value (left)
    and the value it would get (right). Raises the history model's DoesNotExist for a stranger's id."""
    old = patient.history.get(history_id=history_id)
    changes = [
        FieldComparison(demographic_label(f), demographic_value(patient, f), demographic_value(old, f))
        for f in fields
        if getattr(patient, f) != getattr(old, f)
    ]
    return old, changes


def merged_ids(patient: Patient) -> list[int]:
    """This record and every record merged into it (whose audit rows belong to this person too)."""
    ids = {patient.pk}
    frontier = {patient.pk}
    while frontier:
        frontier = (
            set(
                PatientMerge.objects.filter(survivor_id__in=frontier, unmerged_at__isnull=True).values_list(
                    "duplicate_id", flat=True
                )
            )
            - ids
        )
        ids |= frontier
    return sorted(ids)


@dataclass(frozen=True)
class FieldComparison:
    label: str
    left: str
    right: str

    @property
    def differs(self) -> bool:
        return self.left != self.right
