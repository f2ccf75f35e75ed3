"""Every write to the patient record: one function per use case, one transaction, audited."""

from records.services.access import (
    break_glass_start,
    care_access_sync,
    care_relationship_end,
    care_relationship_start,
    withdraw_ended_care_relationships,
)
from records.services.encounters import encounter_admit, encounter_discharge, encounter_transfer
from records.services.identity import patient_archive, patient_unmerge, patients_link, patients_merge
from records.services.locations import site_create, team_create, ward_add_staff, ward_create
from records.services.patients import (
    DEMOGRAPHIC_FIELDS,
    patient_register,
    patient_rollback,
    patient_update,
)

__all__ = [
    "DEMOGRAPHIC_FIELDS",
    "break_glass_start",
    "care_access_sync",
    "care_relationship_end",
    "care_relationship_start",
    "encounter_admit",
    "encounter_discharge",
    "encounter_transfer",
    "patient_archive",
    "patient_register",
    "patient_rollback",
    "patient_unmerge",
    "patient_update",
    "patients_link",
    "patients_merge",
    "site_create",
    "team_create",
    "ward_add_staff",
    "ward_create",
    "withdraw_ended_care_relationships",
]
