"""Every write to the patient record: one function per use case, one transaction, audited."""

from records.services.access import (
    break_glass_start,
    care_access_sync,
    care_relationship_end,
    care_relationship_start,
    withdraw_ended_care_relationships,
)
from records.services.alerts import (
    alert_acknowledge,
    alert_raise_for_set,
    alert_send_email,
    alerts_mark_shown,
    raise_overdue_observation_alerts,
    sweep_missed_news2_alerts,
)
from records.services.careplans import (
    careplan_create,
    careplan_mark_error,
    careplan_review,
    careplan_update,
)
from records.services.clinical import (
    ALLERGY_FIELDS,
    PROBLEM_FIELDS,
    allergy_record,
    allergy_record_none_known,
    entry_amend,
    entry_mark_error,
    problem_record,
)
from records.services.encounters import encounter_admit, encounter_discharge, encounter_transfer
from records.services.identity import patient_archive, patient_unmerge, patients_link, patients_merge
from records.services.locations import site_create, team_create, ward_add_staff, ward_create
from records.services.observations import (
    OBSERVATION_FIELDS,
    current_spo2_scale,
    observation_set_add_values,
    observation_set_mark_error,
    observation_set_record,
    observation_set_record_at,
    spo2_scale_set,
)
from records.services.patients import (
    DEMOGRAPHIC_FIELDS,
    patient_register,
    patient_rollback,
    patient_update,
)

__all__ = [
    "ALLERGY_FIELDS",
    "DEMOGRAPHIC_FIELDS",
    "OBSERVATION_FIELDS",
    "PROBLEM_FIELDS",
    "alert_acknowledge",
    "alert_raise_for_set",
    "alert_send_email",
    "alerts_mark_shown",
    "allergy_record",
    "allergy_record_none_known",
    "break_glass_start",
    "care_access_sync",
    "care_relationship_end",
    "care_relationship_start",
    "careplan_create",
    "careplan_mark_error",
    "careplan_review",
    "careplan_update",
    "current_spo2_scale",
    "encounter_admit",
    "encounter_discharge",
    "encounter_transfer",
    "entry_amend",
    "entry_mark_error",
    "observation_set_add_values",
    "observation_set_mark_error",
    "observation_set_record",
    "observation_set_record_at",
    "patient_archive",
    "patient_register",
    "patient_rollback",
    "patient_unmerge",
    "patient_update",
    "patients_link",
    "patients_merge",
    "problem_record",
    "raise_overdue_observation_alerts",
    "site_create",
    "spo2_scale_set",
    "sweep_missed_news2_alerts",
    "team_create",
    "ward_add_staff",
    "ward_create",
    "withdraw_ended_care_relationships",
]
