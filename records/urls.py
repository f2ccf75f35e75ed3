"""Every page of the patient record, under the "records" namespace ("records:patient_detail")."""

from django.urls import path, re_path

from records.views import (
    access,
    careplans,
    clinical,
    encounters,
    escalation,
    identity,
    manager,
    notes,
    observations,
    patients,
    subject_access,
    timeline,
    wards,
)

app_name = "records"

notes_base = "patients/<int:patient_id>/notes/"
notes_urls = [
    path(notes_base, notes.note_list, name="note_list"),
    path(f"{notes_base}new/", notes.note_new, name="note_new"),
    path(f"{notes_base}<int:note_id>/edit/", notes.note_edit, name="note_edit"),
    path(f"{notes_base}<int:note_id>/countersign/", notes.note_countersign, name="note_countersign"),
    path(f"{notes_base}<int:note_id>/amend/", notes.note_amend, name="note_amend"),
    path(f"{notes_base}<int:note_id>/error/", notes.note_mark_error, name="note_mark_error"),
    path(f"{notes_base}<int:note_id>/history/", notes.note_history, name="note_history"),
]

sar_base = "patients/<int:patient_id>/subject-access/"
subject_access_urls = [
    path("subject-access/", subject_access.sar_deadlines, name="sar_deadlines"),
    path(sar_base, subject_access.sar_patient_list, name="sar_patient_list"),
    path(f"{sar_base}new/", subject_access.sar_create, name="sar_create"),
    path(f"{sar_base}<int:request_id>/", subject_access.sar_detail, name="sar_detail"),
    path(f"{sar_base}<int:request_id>/redactions/", subject_access.sar_redactions, name="sar_redactions"),
    path(f"{sar_base}<int:request_id>/generate/", subject_access.sar_generate, name="sar_generate"),
    path(f"{sar_base}<int:request_id>/progress/", subject_access.sar_progress, name="sar_progress"),
    path(f"{sar_base}<int:request_id>/close/", subject_access.sar_close, name="sar_close"),
    path(f"{sar_base}<int:request_id>/download/<str:fmt>/", subject_access.sar_download, name="sar_download"),
]

urlpatterns = [
    path("wards/", wards.ward_list, name="ward_list"),
    path("my-patients/", wards.my_patients, name="my_patients"),
    path("wards/<int:ward_id>/", wards.ward_list, name="ward_list_for"),
    path("beds/free/", encounters.free_beds, name="free_beds"),
    path("teams/for-consultant/", encounters.consultant_teams, name="consultant_teams"),
    path("patients/", patients.patient_search, name="patient_search"),
    path("patients/register/", patients.patient_register, name="patient_register"),
    path("patients/<int:patient_id>/", patients.patient_detail, name="patient_detail"),
    path("patients/<int:patient_id>/details/", patients.patient_demographics, name="patient_demographics"),
    path("patients/<int:patient_id>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<int:patient_id>/history/", patients.patient_history, name="patient_history"),
    path(
        "patients/<int:patient_id>/history/<int:history_id>/rollback/",
        patients.patient_rollback,
        name="patient_rollback",
    ),
    path("patients/<int:patient_id>/admit/", encounters.patient_admit, name="patient_admit"),
    path("patients/<int:patient_id>/transfer/", encounters.patient_transfer, name="patient_transfer"),
    path("patients/<int:patient_id>/discharge/", encounters.patient_discharge, name="patient_discharge"),
    path("patients/<int:patient_id>/merge/", identity.patient_merge, name="patient_merge"),
    path("patients/<int:patient_id>/merges/<int:merge_id>/", identity.merge_result, name="merge_result"),
    path("patients/<int:patient_id>/link/", identity.patient_link, name="patient_link"),
    path("patients/<int:patient_id>/archive/", identity.patient_archive, name="patient_archive"),
    path("patients/<int:patient_id>/access-log/", manager.patient_access_log, name="patient_access_log"),
    path("patients/<int:patient_id>/break-glass/", access.break_glass, name="break_glass"),
    path(
        "patients/<int:patient_id>/observations/",
        observations.observation_chart,
        name="observation_chart",
    ),
    path(
        "patients/<int:patient_id>/observations/new/",
        observations.observations_record,
        name="observations_record",
    ),
    path("patients/<int:patient_id>/escalation/", escalation.escalation_plan, name="escalation_plan"),
    path(
        "patients/<int:patient_id>/expected-discharge/",
        escalation.expected_discharge,
        name="expected_discharge",
    ),
    path(
        "patients/<int:patient_id>/escalation/<int:plan_id>/error/",
        escalation.escalation_plan_error,
        name="escalation_plan_error",
    ),
    path("patients/<int:patient_id>/spo2-scale/", observations.spo2_scale, name="spo2_scale"),
    *notes_urls,
    path("patients/<int:patient_id>/allergies/", clinical.allergy_list, name="allergy_list"),
    path("patients/<int:patient_id>/allergies/new/", clinical.allergy_new, name="allergy_new"),
    path(
        "patients/<int:patient_id>/allergies/none-known/",
        clinical.allergy_none_known,
        name="allergy_none_known",
    ),
    path("patients/<int:patient_id>/problems/", clinical.problem_list, name="problem_list"),
    path("patients/<int:patient_id>/problems/new/", clinical.problem_new, name="problem_new"),
    # Only the entry kinds clinical handles, so other /<kind>/<id>/error/ routes stay reachable.
    re_path(
        r"^patients/(?P<patient_id>\d+)/(?P<kind>allergies|problems)/(?P<entry_id>\d+)/amend/$",
        clinical.entry_amend,
        name="entry_amend",
    ),
    re_path(
        r"^patients/(?P<patient_id>\d+)/(?P<kind>allergies|problems)/(?P<entry_id>\d+)/error/$",
        clinical.entry_mark_error,
        name="entry_mark_error",
    ),
    path("patients/<int:patient_id>/care-plans/", careplans.careplan_list, name="careplan_list"),
    path("patients/<int:patient_id>/care-plans/new/", careplans.careplan_new, name="careplan_new"),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/edit/",
        careplans.careplan_edit,
        name="careplan_edit",
    ),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/review/",
        careplans.careplan_review,
        name="careplan_review",
    ),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/error/",
        careplans.careplan_error,
        name="careplan_error",
    ),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/pdf/",
        careplans.careplan_pdf,
        name="careplan_pdf",
    ),
    path("patients/<int:patient_id>/timeline/", timeline.patient_timeline, name="patient_timeline"),
    path(
        "patients/<int:patient_id>/timeline/<str:kind>/<int:entry_id>/",
        timeline.entry_history,
        name="entry_history",
    ),
    path("care-plans/overdue/", careplans.careplans_overdue, name="careplans_overdue"),
    path("terminology/search/", clinical.terminology_search, name="terminology_search"),
    path("alerts/", observations.alert_list, name="alert_list"),
    path("alerts/<int:alert_id>/", observations.alert_respond, name="alert_respond"),
    path("merges/<int:merge_id>/undo/", identity.merge_undo, name="merge_undo"),
    path("privacy/break-glass/", manager.break_glass_review, name="break_glass_review"),
    path(
        "privacy/break-glass/<int:use_id>/",
        manager.break_glass_review_use,
        name="break_glass_review_use",
    ),
    path("bed-state/", manager.bed_state, name="bed_state"),
    *subject_access_urls,
]
