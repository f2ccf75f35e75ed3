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
    alert_raise,
    alert_record_review,
    alert_send_email,
    alerts_mark_shown,
    recipients_described,
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
from records.services.escalation import escalation_plan_mark_error, escalation_plan_record
from records.services.flow import encounter_set_expected_discharge
from records.services.identity import patient_archive, patient_unmerge, patients_link, patients_merge
from records.services.locations import site_create, team_create, ward_add_staff, ward_create
from records.services.notes import (
    note_amend,
    note_countersign,
    note_mark_error,
    note_save_draft,
    note_sign,
    note_start,
)
from records.services.observation_alerts import (
    alert_for_set,
    alert_raise_for_set,
    raise_overdue_observation_alerts,
    sweep_missed_news2_alerts,
)
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
from records.services.subject_access import (
    subject_access_close,
    subject_access_create,
    subject_access_generate,
    subject_access_queue_generation,
    subject_access_record_download,
    subject_access_set_redactions,
)

__all__ = [
    "ALLERGY_FIELDS",
    "DEMOGRAPHIC_FIELDS",
    "OBSERVATION_FIELDS",
    "PROBLEM_FIELDS",
    "alert_acknowledge",
    "alert_for_set",
    "alert_raise",
    "alert_raise_for_set",
    "alert_record_review",
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
    "encounter_set_expected_discharge",
    "encounter_transfer",
    "entry_amend",
    "entry_mark_error",
    "escalation_plan_mark_error",
    "escalation_plan_record",
    "note_amend",
    "note_countersign",
    "note_mark_error",
    "note_save_draft",
    "note_sign",
    "note_start",
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
    "recipients_described",
    "site_create",
    "spo2_scale_set",
    "subject_access_close",
    "subject_access_create",
    "subject_access_generate",
    "subject_access_queue_generation",
    "subject_access_record_download",
    "subject_access_set_redactions",
    "sweep_missed_news2_alerts",
    "team_create",
    "ward_add_staff",
    "ward_create",
    "withdraw_ended_care_relationships",
]
