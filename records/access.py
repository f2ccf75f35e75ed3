"""The one place that decides whether a user may see a patient, and how much, and the one door every
page, htmx fragment, export and FHIR call opens a patient through (`open_record`).

- Clinical staff open a record through a care relationship (a django-guardian object permission
  granted to their ward or team group) or through break-glass.
- Ward clerks, managers and administrators see demographics and administrative detail by role,
  never clinical detail.
- A system API client (no user) is let in by its token's scopes, checked before it gets here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from django.utils import timezone
from guardian.core import ObjectPermissionChecker

from epr.accounts.roles import Role
from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import NoRelationship
from records.models import BreakGlassAccess, Patient

CARE_PERMISSION = "access_patient_record"
DEMOGRAPHIC_ROLES = frozenset({Role.WARD_CLERK, Role.MANAGER, Role.ADMIN})


class Level(IntEnum):
    NONE = 0
    DEMOGRAPHIC = 1
    CLINICAL = 2


@dataclass(frozen=True)
class PatientAccess:
    level: Level
    via: str  # "care", "break_glass", "role", "system" or "" when refused
    break_glass: BreakGlassAccess | None = None

    @property
    def allowed(self) -> bool:
        return self.level > Level.NONE

    @property
    def clinical(self) -> bool:
        return self.level >= Level.CLINICAL

    @property
    def break_glass_reason(self) -> str:
        return self.break_glass.reason if self.break_glass else ""


NO_ACCESS = PatientAccess(Level.NONE, "")
SYSTEM_ACCESS = PatientAccess(Level.CLINICAL, "system")


def edit_level(user) -> Level:
    """The access a user needs to change a record: clinical staff only with a care relationship (or
    break-glass); clerks and administrators by their role."""
    return Level.CLINICAL if user.is_clinical else Level.DEMOGRAPHIC


def may_change_record(user, access: PatientAccess) -> bool:
    """Whether the user may change who the patient is or where they are (demographics, admit,
    transfer, discharge). Break-glass is for reading and recording clinical entries in an
    emergency, so clinical staff need a real care relationship; clerks and administrators act
    by their role."""
    if not access.allowed or access.level < edit_level(user):
        return False
    return not user.is_clinical or access.via == "care"


def sees_by_role(user) -> bool:
    """Clerks, managers and administrators see demographics (and every ward's list) by role."""
    return user.role in DEMOGRAPHIC_ROLES


def active_break_glass(user, patient: Patient) -> BreakGlassAccess | None:
    return (
        BreakGlassAccess.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )


def has_care_relationship(user, patient: Patient) -> bool:
    return ObjectPermissionChecker(user).has_perm(CARE_PERMISSION, patient)


def patient_access(user, patient: Patient) -> PatientAccess:
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_ACCESS
    if user.role in DEMOGRAPHIC_ROLES:
        return PatientAccess(Level.DEMOGRAPHIC, "role")
    if not user.is_clinical:
        return NO_ACCESS
    if has_care_relationship(user, patient):
        return PatientAccess(Level.CLINICAL, "care")
    glass = active_break_glass(user, patient)
    if glass is not None:
        return PatientAccess(Level.CLINICAL, "break_glass", glass)
    return NO_ACCESS


def patients_with_care_relationship(user, patients: list[Patient]) -> set[int]:
    """Which of these patients the user may open through care: two queries for any number of rows."""
    if not patients or not user.is_clinical:
        return set()
    checker = ObjectPermissionChecker(user)
    checker.prefetch_perms(patients)
    cared = {p.pk for p in patients if checker.has_perm(CARE_PERMISSION, p)}
    glass = set(
        BreakGlassAccess.objects.filter(
            user=user, patient__in=[p.pk for p in patients], expires_at__gt=timezone.now()
        ).values_list("patient_id", flat=True)
    )
    return cared | glass


def open_record(
    user, patient: Patient, *, minimum: Level = Level.DEMOGRAPHIC, audit_action: str | None = Action.VIEW
) -> PatientAccess:
    """The door: the caller's access to the patient, or NoRelationship (after a "denied" audit row)
    below `minimum`. With `audit_action` the opening is audited as that read, with any break-glass
    reason; without it the caller audits what it then reads (a FHIR search names what it found).
    `user` None is a system API client."""
    access = SYSTEM_ACCESS if user is None else patient_access(user, patient)
    if access.level < minimum:
        audit_record(user=user, action=Action.DENIED, patient_id=patient.pk, obj=patient)
        raise NoRelationship(patient)
    if audit_action is not None:
        audit_record(
            user=user,
            action=audit_action,
            patient_id=patient.pk,
            obj=patient,
            break_glass_reason=access.break_glass_reason,
        )
    return access
