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
