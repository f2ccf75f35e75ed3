"""The patient index: the person, their identifiers and demographics, and the object permissions that
care relationships grant on them."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from records.rules import patients as rules

__all__ = [
    "EthnicCategory",
    "NHSNumberStatus",
    "Patient",
    "PatientGroupObjectPermission",
    "PatientStatus",
    "PatientUserObjectPermission",
    "Sex",
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
