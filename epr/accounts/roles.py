"""Staff roles. Each role is a Django group; apps register which model permissions it carries.

The kernel knows no clinical domain, so the permissions themselves come from the apps
(`register_role_permissions` in their AppConfig.ready).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import models


class Role(models.TextChoices):
    DOCTOR = "doctor", "Doctor"
    NURSE = "nurse", "Nurse"
    HCA = "hca", "Healthcare assistant"
    PHARMACIST = "pharmacist", "Pharmacist"
    PHARMACY_TECHNICIAN = "pharmtech", "Pharmacy technician"
    WARD_CLERK = "clerk", "Ward clerk"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "System administrator"


class StaffGrade(models.TextChoices):
    """A clinician's grade, where it decides what they may do (IR(ME)R: who may refer for imaging)."""

    STUDENT = "student", "Student"
    FY1 = "fy1", "Foundation year 1"
    FY2 = "fy2", "Foundation year 2"
    CORE = "core", "Core or specialty trainee (CT/ST1-2)"
    REGISTRAR = "registrar", "Registrar (ST3 and above)"
    CONSULTANT = "consultant", "Consultant"
    ADVANCED = "anp", "Advanced clinical practitioner"
    NURSE = "nurse", "Registered nurse"
    AHP = "ahp", "Allied health professional"


CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.NURSE, Role.HCA, Role.PHARMACIST, Role.PHARMACY_TECHNICIAN})

_role_permissions: dict[str, set[str]] = defaultdict(set)


def register_role_permissions(mapping: dict[str, list[str]]) -> None:
    """Add 'app_label.codename' permissions to roles, e.g. {"clerk": ["records.add_patient"]}."""
    for role, perms in mapping.items():
        if role not in Role.values:
            raise ValueError(f"Unknown role {role!r}")
        _role_permissions[role].update(perms)


def role_permissions() -> dict[str, set[str]]:
    return {role: set(_role_permissions[role]) for role in Role.values}


def group_name(role: str) -> str:
    return f"role:{role}"
