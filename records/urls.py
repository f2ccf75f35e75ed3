from django.urls import include, path, re_path

from records.views import careplans as views_careplans
from records.views import clinical as views_clinical
from records.views import escalation as views_escalation
from records.views import manager as views_manager
from records.views import observations as views_observations
from records.views import patients as views
from records.views import timeline as views_timeline

urlpatterns = [
    path("", views.home, name="home"),
    path("wards/", views.ward_list, name="ward_list"),
    path("my-patients/", views.my_patients, name="my_patients"),
    path("wards/<int:ward_id>/", views.ward_list, name="ward_list_for"),
    path("beds/free/", views.free_beds, name="free_beds"),
    path("teams/for-consultant/", views.consultant_teams, name="consultant_teams"),
    path("patients/", views.patient_search, name="patient_search"),
    path("patients/register/", views.patient_register, name="patient_register"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient_detail"),
    path("patients/<int:patient_id>/details/", views.patient_demographics, name="patient_demographics"),
    path("patients/<int:patient_id>/edit/", views.patient_edit, name="patient_edit"),
    path("patients/<int:patient_id>/history/", views.patient_history, name="patient_history"),
    path(
        "patients/<int:patient_id>/history/<int:history_id>/rollback/",
        views.patient_rollback,
        name="patient_rollback",
    ),
    path("patients/<int:patient_id>/admit/", views.patient_admit, name="patient_admit"),
    path("patients/<int:patient_id>/transfer/", views.patient_transfer, name="patient_transfer"),
    path("patients/<int:patient_id>/discharge/", views.patient_discharge, name="patient_discharge"),
    path("patients/<int:patient_id>/merge/", views.patient_merge, name="patient_merge"),
    path("patients/<int:patient_id>/merges/<int:merge_id>/", views.merge_result, name="merge_result"),
    path("patients/<int:patient_id>/link/", views.patient_link, name="patient_link"),
    path("patients/<int:patient_id>/archive/", views.patient_archive, name="patient_archive"),
    path(
        "patients/<int:patient_id>/access-log/", views_manager.patient_access_log, name="patient_access_log"
    ),
    path("patients/<int:patient_id>/break-glass/", views.break_glass, name="break_glass"),
    path(
        "patients/<int:patient_id>/observations/",
        views_observations.observation_chart,
        name="observation_chart",
    ),
    path(
        "patients/<int:patient_id>/observations/new/",
        views_observations.observations_record,
        name="observations_record",
    ),
    path(
        "patients/<int:patient_id>/escalation/", views_escalation.escalation_plan, name="escalation_plan"
    ),
    path(
        "patients/<int:patient_id>/expected-discharge/",
        views_escalation.expected_discharge,
        name="expected_discharge",
    ),
    path(
        "patients/<int:patient_id>/escalation/<int:plan_id>/error/",
        views_escalation.escalation_plan_error,
        name="escalation_plan_error",
    ),
    path("patients/<int:patient_id>/spo2-scale/", views_observations.spo2_scale, name="spo2_scale"),
    path("patients/<int:patient_id>/notes/", include("records.urls_notes")),
    path("patients/<int:patient_id>/allergies/", views_clinical.allergy_list, name="allergy_list"),
    path("patients/<int:patient_id>/allergies/new/", views_clinical.allergy_new, name="allergy_new"),
    path(
        "patients/<int:patient_id>/allergies/none-known/",
        views_clinical.allergy_none_known,
        name="allergy_none_known",
    ),
    path("patients/<int:patient_id>/problems/", views_clinical.problem_list, name="problem_list"),
    path("patients/<int:patient_id>/problems/new/", views_clinical.problem_new, name="problem_new"),
    # Only the entry kinds views_clinical handles, so other /<kind>/<id>/error/ routes stay reachable.
    re_path(
        r"^patients/(?P<patient_id>\d+)/(?P<kind>allergies|problems)/(?P<entry_id>\d+)/amend/$",
        views_clinical.entry_amend,
        name="entry_amend",
    ),
    re_path(
        r"^patients/(?P<patient_id>\d+)/(?P<kind>allergies|problems)/(?P<entry_id>\d+)/error/$",
        views_clinical.entry_mark_error,
        name="entry_mark_error",
    ),
    path("patients/<int:patient_id>/care-plans/", views_careplans.careplan_list, name="careplan_list"),
    path("patients/<int:patient_id>/care-plans/new/", views_careplans.careplan_new, name="careplan_new"),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/edit/",
        views_careplans.careplan_edit,
        name="careplan_edit",
    ),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/review/",
        views_careplans.careplan_review,
        name="careplan_review",
    ),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/error/",
        views_careplans.careplan_error,
        name="careplan_error",
    ),
    path(
        "patients/<int:patient_id>/care-plans/<int:plan_id>/pdf/",
        views_careplans.careplan_pdf,
        name="careplan_pdf",
    ),
    path("patients/<int:patient_id>/timeline/", views_timeline.patient_timeline, name="patient_timeline"),
    path(
        "patients/<int:patient_id>/timeline/<str:kind>/<int:entry_id>/",
        views_timeline.entry_history,
        name="entry_history",
    ),
    path("care-plans/overdue/", views_careplans.careplans_overdue, name="careplans_overdue"),
    path("terminology/search/", views_clinical.terminology_search, name="terminology_search"),
    path("alerts/", views_observations.alert_list, name="alert_list"),
    path("alerts/<int:alert_id>/", views_observations.alert_respond, name="alert_respond"),
    path("merges/<int:merge_id>/undo/", views.merge_undo, name="merge_undo"),
    path("privacy/break-glass/", views_manager.break_glass_review, name="break_glass_review"),
    path(
        "privacy/break-glass/<int:use_id>/",
        views_manager.break_glass_review_use,
        name="break_glass_review_use",
    ),
    path("bed-state/", views_manager.bed_state, name="bed_state"),
    path("", include("records.urls_subject_access")),
]
