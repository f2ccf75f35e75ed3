"""The patient index, locations, encounters, care relationships and identity operations."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from records.rules import patients as rules

__all__ = [
    "AdmissionMethod",
    "Bay",
    "Bed",
    "BreakGlassAccess",
    "BreakGlassOutcome",
    "CareRelationship",
    "CareRelationshipKind",
    "DischargeDestination",
    "Encounter",
    "EncounterStatus",
    "EthnicCategory",
    "NHSNumberStatus",
    "Patient",
    "PatientGroupObjectPermission",
    "PatientLink",
    "PatientMerge",
    "PatientStatus",
    "PatientUserObjectPermission",
    "Sex",
    "Site",
    "Specialty",
    "Team",
    "Ward",
    "WardStay",
]


class Sex(models.TextChoices):
    """Administrative gender (FHIR), recorded as the person's sex on the record."""

    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not known"


class NHSNumberStatus(models.TextChoices):
    VERIFIED = "01", "Number present and verified"
    NOT_TRACED = "02", "Number present but not traced"
    TRACE_REQUIRED = "03", "Trace required"
    NO_MATCH = "04", "Trace attempted - no match or multiple match found"
    TO_RESOLVE = "05", "Trace needs to be resolved"
    IN_PROGRESS = "06", "Trace in progress"
    NOT_PRESENT = "07", "Number not present and trace not required"
    POSTPONED = "08", "Trace postponed (baby under six weeks old)"


class EthnicCategory(models.TextChoices):
    """NHS Data Dictionary ethnic category (2001 census codes)."""

    A = "A", "White - British"
    B = "B", "White - Irish"
    C = "C", "White - Any other White background"
    D = "D", "Mixed - White and Black Caribbean"
    E = "E", "Mixed - White and Black African"
    F = "F", "Mixed - White and Asian"
    G = "G", "Mixed - Any other mixed background"
    H = "H", "Asian or Asian British - Indian"
    J = "J", "Asian or Asian British - Pakistani"
    K = "K", "Asian or Asian British - Bangladeshi"
    L = "L", "Asian or Asian British - Any other Asian background"
    M = "M", "Black or Black British - Caribbean"
    N = "N", "Black or Black British - African"
    P = "P", "Black or Black British - Any other Black background"
    R = "R", "Other ethnic groups - Chinese"
    S = "S", "Other ethnic groups - Any other ethnic group"
    Z = "Z", "Not stated"
    NOT_KNOWN = "99", "Not known"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MERGED = "merged", "Merged into another record"
    ARCHIVED = "archived", "Archived"


class Patient(models.Model):
    nhs_number = models.CharField(max_length=10, blank=True, db_index=True)
    nhs_number_status = models.CharField(
        max_length=2, choices=NHSNumberStatus.choices, default=NHSNumberStatus.TRACE_REQUIRED
    )
    hospital_number = models.CharField(max_length=20, unique=True)
    temporary_identity = models.BooleanField(
        default=False, help_text="Registered as an unknown or unidentified patient; to be traced."
    )

    title = models.CharField(max_length=20, blank=True)
    family_name = models.CharField(max_length=100)
    given_names = models.CharField(max_length=150, blank=True)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    gender_identity = models.CharField(max_length=60, blank=True)
    date_of_death = models.DateField(null=True, blank=True)
    # Recorded when a patient dies in hospital (discharge "patient died"); blank when only the date is known.
    time_of_death = models.TimeField(null=True, blank=True)

    address_line_1 = models.CharField(max_length=100, blank=True)
    address_line_2 = models.CharField(max_length=100, blank=True)
    town = models.CharField(max_length=60, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)

    gp_practice_code = models.CharField(max_length=8, blank=True, help_text="ODS code of the GP practice")
    gp_practice_name = models.CharField(max_length=100, blank=True)

    next_of_kin_name = models.CharField(max_length=100, blank=True)
    next_of_kin_relationship = models.CharField(max_length=40, blank=True)
    next_of_kin_phone = models.CharField(max_length=30, blank=True)

    ethnic_category = models.CharField(max_length=2, choices=EthnicCategory.choices, blank=True)
    preferred_language = models.CharField(max_length=40, blank=True)
    interpreter_required = models.BooleanField(default=False)

    status = models.CharField(max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    # Accent- and case-free copies of the names, indexed for fragment search.
    family_name_key = models.CharField(max_length=100, editable=False, default="")
    given_names_key = models.CharField(max_length=150, editable=False, default="")

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["family_name_key", "given_names_key", "updated_at"])

    class Meta:
        ordering = ["family_name", "given_names"]
        constraints = [
            models.UniqueConstraint(
                fields=["nhs_number"],
                condition=Q(status="active") & ~Q(nhs_number=""),
                name="patient_nhs_number_unique_among_active",
            ),
            models.CheckConstraint(
                condition=Q(nhs_number="") | Q(nhs_number__regex=r"^[0-9]{10}$"),
                name="patient_nhs_number_ten_digits",
            ),
        ]
        indexes = [
            models.Index(fields=["date_of_birth", "family_name_key"], name="patient_dob_family"),
            GinIndex(fields=["family_name_key"], name="patient_family_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["given_names_key"], name="patient_given_trgm", opclasses=["gin_trgm_ops"]),
        ]
        permissions = [
            ("access_patient_record", "Can open a patient's clinical record (object permission)"),
            ("merge_patient", "Can merge and unmerge patient records"),
            ("link_patient", "Can link patient records"),
            ("archive_patient", "Can archive patient records"),
            ("rollback_patient", "Can roll back a patient's demographics"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.family_name_key = rules.search_key(self.family_name)
        self.given_names_key = rules.search_key(self.given_names)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """Banner style: FAMILY, Given (Title)."""
        name = f"{self.family_name.upper()}, {self.given_names}".rstrip(", ")
        return f"{name} ({self.title})" if self.title else name

    @property
    def nhs_number_display(self) -> str:
        return rules.format_nhs_number(self.nhs_number)

    @property
    def is_active(self) -> bool:
        return self.status == PatientStatus.ACTIVE

    @property
    def address_display(self) -> str:
        parts = [self.address_line_1, self.address_line_2, self.town, self.postcode]
        return ", ".join(p for p in parts if p)


class PatientGroupObjectPermission(GroupObjectPermissionBase):
    """Care-relationship access, held per ward or team group (direct foreign key for speed)."""

    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class PatientUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class Specialty(models.TextChoices):
    """NHS treatment function codes (a subset)."""

    GENERAL_SURGERY = "100", "General surgery"
    TRAUMA_ORTHOPAEDICS = "110", "Trauma and orthopaedics"
    ACCIDENT_EMERGENCY = "180", "Emergency medicine"
    GENERAL_MEDICINE = "300", "General internal medicine"
    GASTROENTEROLOGY = "301", "Gastroenterology"
    CARDIOLOGY = "320", "Cardiology"
    RESPIRATORY = "340", "Respiratory medicine"
    ELDERLY = "430", "Elderly medicine"
    STROKE = "328", "Stroke medicine"
    ADULT_MENTAL_ILLNESS = "710", "Adult mental illness"
    OBSTETRICS = "501", "Obstetrics"
    PAEDIATRICS = "420", "Paediatrics"


class Site(models.Model):
    code = models.CharField(max_length=10, unique=True, help_text="ODS site code")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ward(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="wards")
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    staff_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="ward")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site__name", "name"]

    def __str__(self) -> str:
        return self.name


class Bay(models.Model):
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="bays")
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["ward", "name"]
        constraints = [models.UniqueConstraint(fields=["ward", "name"], name="bay_unique_in_ward")]

    def __str__(self) -> str:
        return f"{self.ward} {self.name}"


class Bed(models.Model):
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="beds")
    bay = models.ForeignKey(Bay, on_delete=models.PROTECT, related_name="beds", null=True, blank=True)
    label = models.CharField(max_length=20)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["ward", "bay__name", "label"]
        constraints = [models.UniqueConstraint(fields=["ward", "label"], name="bed_unique_in_ward")]

    def __str__(self) -> str:
        return f"{self.bay.name} bed {self.label}" if self.bay is not None else f"Bed {self.label}"


class Team(models.Model):
    """A treating team (a consultant's firm); its members share access to the team's patients."""

    name = models.CharField(max_length=100)
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    staff_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AdmissionMethod(models.TextChoices):
    ELECTIVE = "11", "Elective - waiting list"
    PLANNED = "13", "Elective - planned"
    EMERGENCY_ED = "21", "Emergency - via emergency department"
    EMERGENCY_GP = "22", "Emergency - GP referral"
    EMERGENCY_OTHER = "28", "Emergency - other"
    TRANSFER = "81", "Transfer from another hospital"


class DischargeDestination(models.TextChoices):
    HOME = "19", "Usual place of residence"
    TEMPORARY = "29", "Temporary place of residence"
    CARE_HOME = "54", "Care home"
    OTHER_HOSPITAL = "51", "Another NHS hospital"
    HOSPICE = "87", "Hospice"
    DIED = "79", "Patient died"


class EncounterStatus(models.TextChoices):
    ACTIVE = "active", "In hospital"
    FINISHED = "finished", "Discharged"


class Encounter(models.Model):
    """An inpatient stay from admission to discharge; ward stays record where the patient was."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    status = models.CharField(max_length=10, choices=EncounterStatus.choices, default=EncounterStatus.ACTIVE)
    admitted_at = models.DateTimeField()
    discharged_at = models.DateTimeField(null=True, blank=True)
    admission_method = models.CharField(max_length=2, choices=AdmissionMethod.choices)
    specialty = models.CharField(max_length=3, choices=Specialty.choices)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="encounters")
    discharge_destination = models.CharField(max_length=2, choices=DischargeDestination.choices, blank=True)
    admitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    discharged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    expected_discharge_date = models.DateField(
        null=True, blank=True, help_text="The date the team expects the patient to leave hospital."
    )
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-admitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status="active"), name="encounter_one_active_per_patient"
            ),
        ]
        permissions = [("manage_admissions", "Can admit, transfer and discharge patients")]

    def __str__(self) -> str:
        return f"Admission {self.admitted_at:%d-%b-%Y}"


class WardStay(models.Model):
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="ward_stays")
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="stays")
    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, null=True, blank=True, related_name="stays")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True, help_text="Why the patient was moved here")

    history = HistoricalRecords()

    class Meta:
        ordering = ["started_at"]
        constraints = [
            # One patient to a bed, and one current place per stay: two clerks cannot double-book.
            models.UniqueConstraint(
                fields=["bed"], condition=Q(ended_at__isnull=True), name="wardstay_bed_free"
            ),
            models.UniqueConstraint(
                fields=["encounter"], condition=Q(ended_at__isnull=True), name="wardstay_one_current"
            ),
        ]
        indexes = [
            models.Index(fields=["ward"], condition=Q(ended_at__isnull=True), name="wardstay_current_ward")
        ]

    def __str__(self) -> str:
        return f"{self.ward} {self.bed or ''}".strip()


class CareRelationshipKind(models.TextChoices):
    WARD = "ward", "On the ward"
    TEAM = "team", "Treating team"


class CareRelationship(models.Model):
    """Why a group of staff may open a patient's record, and until when (null = still going)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_relationships")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    # An open vocabulary: what apps register (records.registries.care_relationships).
    kind = models.CharField(max_length=10)
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, null=True, related_name="+")
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    access_withdrawn = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "group"], name="carerel_patient_group"),
            models.Index(fields=["ends_at"], condition=Q(access_withdrawn=False), name="carerel_pending_end"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.group.name}"


class BreakGlassOutcome(models.TextChoices):
    APPROPRIATE = "appropriate", "Appropriate"
    INAPPROPRIATE = "inappropriate", "Inappropriate: refer to the Caldicott guardian"


class BreakGlassAccess(models.Model):
    """Emergency access without a care relationship: reason stated, time-limited, reviewed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glass_uses")
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_outcome = models.CharField(max_length=20, choices=BreakGlassOutcome.choices, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "patient", "expires_at"], name="breakglass_active")]

    def __str__(self) -> str:
        return f"{self.user} on {self.started_at:%d-%b-%Y %H:%M}"


class PatientMerge(models.Model):
    """A duplicate merged into a survivor, with every moved row listed so it can be undone exactly."""

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    duplicate = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    moved_rows = models.JSONField(default=dict)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField()
    unmerged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerge_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-merged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["duplicate"],
                condition=Q(unmerged_at__isnull=True),
                name="merge_one_open_per_duplicate",
            ),
        ]

    def __str__(self) -> str:
        return f"Merge {self.duplicate_id} into {self.survivor_id}"


class PatientLink(models.Model):
    """Two records of the same person kept apart (e.g. a mental-health record kept separate)."""

    first = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    second = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="link_unique_pair"),
            models.CheckConstraint(condition=Q(first__lt=models.F("second")), name="link_ordered_pair"),
        ]

    def __str__(self) -> str:
        return f"Link {self.first_id} - {self.second_id}"
