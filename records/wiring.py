"""Everything records adds to the shared registries, and the only place it calls register_*():
role permissions, its pages' routes, menu items, landing pages, the names on the access log and its
FHIR resources."""

from __future__ import annotations

from typing import Any

from epr.accounts.roles import CLINICAL_ROLES, Role, register_role_permissions
from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.fhir.registry import FHIRResourceType, register_fhir_resource
from epr.fhir.transactions import TransactionPart
from epr.navigation import Badge, Landing, MenuItem, register_landing, register_menu_item
from epr.routes import register_app_urls
from records.fhir import clinical as fhir_clinical
from records.fhir import observations as fhir_observations
from records.fhir import patients as fhir_patients
from records.fhir.views import clinical as clinical_api
from records.fhir.views import observations as observations_api
from records.fhir.views import patients as patients_api
from records.models import (
    AlertKind,
    BreakGlassAccess,
    CareRelationship,
    CareRelationshipKind,
    PatientGroupObjectPermission,
    PatientLink,
    PatientMerge,
    PatientUserObjectPermission,
    SubjectAccessRequest,
)
from records.registries.alerts import AlertKindSpec, register_alert_kind
from records.registries.care_relationships import register_care_relationship_kind
from records.registries.documents import (
    CLINIC_LETTER,
    DISCHARGE_SUMMARY,
    DocumentSection,
    register_document_section,
)
from records.registries.patient_page import PatientSection, register_patient_section
from records.registries.subject_access import register_not_exported, register_section
from records.registries.timeline import register_source
from records.rules import alerts as alert_rules
from records.selectors import documents as document_selectors
from records.selectors import subject_access as subject_access_selectors
from records.selectors import timeline as timeline_selectors
from records.selectors.alerts import alert_counts
from records.selectors.wards import wards_for_user


def _role_permissions() -> None:
    everyone = ["records.view_patient", "records.view_ward"]
    # Record observations and acknowledge the alerts they raise.
    observers = ["records.add_observationset", "records.change_clinicalalert"]
    allergy_recorders = ["records.add_allergyintolerance", "records.change_allergyintolerance"]
    diagnosers = ["records.add_problem", "records.change_problem"]
    care_planners = ["records.add_careplan", "records.change_careplan", "records.review_careplan"]
    register_role_permissions(
        {
            "doctor": [
                *everyone,
                *observers,
                *allergy_recorders,
                *diagnosers,
                *care_planners,
                "records.change_patient",
                "records.set_spo2_scale",
            ],
            "nurse": [
                *everyone,
                *observers,
                *allergy_recorders,
                *care_planners,
                "records.change_patient",
                "records.manage_admissions",
            ],
            "hca": [*everyone, "records.add_observationset"],
            "pharmacist": [*everyone, *allergy_recorders],
            "pharmtech": [*everyone, *allergy_recorders],
            "clerk": [
                *everyone,
                "records.add_patient",
                "records.change_patient",
                "records.manage_admissions",
            ],
            "manager": [
                *everyone,
                "audit.view_patient_access_log",
                "records.view_breakglassaccess",
            ],
            "admin": [
                *everyone,
                "records.add_patient",
                "records.change_patient",
                "records.manage_admissions",
                "records.merge_patient",
                "records.link_patient",
                "records.archive_patient",
                "records.rollback_patient",
                "audit.view_patient_access_log",
                "records.view_breakglassaccess",
                "records.change_breakglassaccess",
            ],
        }
    )
    # Resuscitation and treatment escalation decisions are recorded by doctors (the senior clinician
    # responsible is named on the entry); everyone with clinical access reads them.
    register_role_permissions(
        {"doctor": ["records.add_treatmentescalationplan", "records.change_treatmentescalationplan"]}
    )
    # Break-glass review: managers (administrators already may) record whether each use was
    # appropriate, and refer the rest to the Caldicott guardian.
    register_role_permissions({"manager": ["records.change_breakglassaccess"]})
    # Subject access: the information governance team (admin role) logs requests, chooses
    # redactions and exports; managers see the open requests and their deadlines only.
    register_role_permissions(
        {
            "manager": ["records.view_subjectaccessrequest"],
            "admin": ["records.manage_subject_access", "records.view_subjectaccessrequest"],
        }
    )
    # Clinical notes: clinicians write them, doctors and nurses countersign, administrators
    # configure the templates in Django admin. Clerks and managers write no clinical notes.
    note_writers = ["records.add_clinicalnote", "records.change_clinicalnote"]
    register_role_permissions(
        {
            "doctor": [*note_writers, "records.countersign_clinicalnote"],
            "nurse": [*note_writers, "records.countersign_clinicalnote"],
            "hca": note_writers,
            "pharmacist": note_writers,
            "admin": [
                "records.view_notetemplate",
                "records.add_notetemplate",
                "records.change_notetemplate",
            ],
        }
    )


def _alert_badges(user: Any) -> list[Badge]:
    counts = alert_counts(user)
    return [
        Badge(counts["urgent"], "urgent", "red", testid="alerts-urgent", shown_label=True),
        Badge(counts["alert"], "other", "orange", testid="alerts-other"),
    ]


def _role_is(*roles: str):
    return lambda user: user.role in roles


def _may(permission: str):
    return lambda user: user.has_perm(permission)


def _menu() -> None:
    for item in (
        MenuItem("Ward list", "records:ward_list", 10),
        MenuItem("Bed state", "records:bed_state", 20, shown_to=_role_is(Role.MANAGER)),
        MenuItem("My patients", "records:my_patients", 30, shown_to=_role_is(Role.DOCTOR)),
        MenuItem("Find a patient", "records:patient_search", 40),
        MenuItem("Reviews due", "records:careplans_overdue", 50, shown_to=_role_is(Role.DOCTOR, Role.NURSE)),
        MenuItem(
            "Alerts",
            "records:alert_list",
            60,
            shown_to=lambda user: user.is_clinical,
            badges=_alert_badges,
            testid="alerts-link",
        ),
        MenuItem("Register a patient", "records:patient_register", 70, shown_to=_may("records.add_patient")),
        MenuItem(
            "Break-glass review",
            "records:break_glass_review",
            80,
            shown_to=_may("records.view_breakglassaccess"),
        ),
        MenuItem(
            "Subject access", "records:sar_deadlines", 90, shown_to=_may("records.view_subjectaccessrequest")
        ),
    ):
        register_menu_item(item)


def _doctor_without_a_ward(user: Any) -> bool:
    return user.role == Role.DOCTOR and not wards_for_user(user).exists()


def _landings() -> None:
    register_landing(Landing("records:my_patients", 10, _doctor_without_a_ward))
    register_landing(Landing("records:bed_state", 20, _role_is(Role.MANAGER)))
    register_landing(Landing("records:ward_list", 30, lambda user: user.role in CLINICAL_ROLES))
    register_landing(Landing("records:patient_search", 100))


# What a person calls what records' audit rows looked at, on "who accessed this record".
ACCESS_LOG_NAMES = AccessLogNames(
    pages={
        "records:patient_detail": "Patient record summary",
        "records:patient_edit": "Edit patient details",
        "records:patient_history": "History of the patient's details",
        "records:patient_rollback": "Roll back the patient's details",
        "records:patient_admit": "Admit patient",
        "records:patient_transfer": "Transfer patient",
        "records:patient_discharge": "Discharge patient",
        "records:patient_merge": "Merge records",
        "records:patient_link": "Link records",
        "records:patient_archive": "Archive record",
        "records:patient_access_log": "Who accessed this record",
        "records:break_glass": "Break-glass access",
        "records:observation_chart": "NEWS2 chart",
        "records:observations_record": "Record observations",
        "records:spo2_scale": "SpO2 scale",
        "records:note_list": "Clinical notes",
        "records:note_new": "Write a note",
        "records:note_edit": "Edit a draft note",
        "records:note_countersign": "Countersign a note",
        "records:note_amend": "Amend a note",
        "records:note_mark_error": "Note entered in error",
        "records:note_history": "Note history",
        "records:allergy_list": "Allergies",
        "records:allergy_new": "Record an allergy",
        "records:allergy_none_known": "No known allergies",
        "records:problem_list": "Problems",
        "records:problem_new": "Record a problem",
        "records:entry_amend": "Amend an entry",
        "records:entry_mark_error": "Entry entered in error",
        "records:careplan_list": "Care plans",
        "records:careplan_new": "New care plan",
        "records:careplan_edit": "Edit care plan",
        "records:careplan_review": "Care plan review",
        "records:careplan_error": "Care plan entered in error",
        "records:careplan_pdf": "Care plan PDF",
        "records:patient_timeline": "Timeline",
        "records:entry_history": "Entry as it was",
        "records:sar_patient_list": "Subject access requests",
        "records:sar_create": "Log a subject access request",
        "records:sar_detail": "Subject access request",
        "records:sar_redactions": "Subject access redactions",
        "records:sar_generate": "Subject access export",
        "records:sar_close": "Subject access request closed",
        "records:sar_download": "Subject access export download",
    },
    objects={
        "records.Patient": "Patient details",
        "records.ObservationSet": "Observations",
        "records.AllergyIntolerance": "Allergy",
        "records.Problem": "Problem",
        "records.CarePlan": "Care plan",
        "records.ClinicalNote": "Clinical note",
        "records.Encounter": "Admission",
        "records.BreakGlassAccess": "Break-glass access",
        "records.SubjectAccessRequest": "Subject access request",
        "records.ClinicalAlert": "NEWS2 alert",
        "records.PatientMerge": "Merge",
        "records.PatientLink": "Record link",
    },
    exports={"records.CarePlan": "Care plan PDF"},
    lists={
        "my patients": "My patients list",
        "patient search": "Patient search",
        "possible duplicates": "Possible duplicates at registration",
        "alerts": "Alerts list",
        "break-glass review": "Break-glass review",
        "care plans overdue": "Care plans overdue list",
        "subject-access-requests": "Subject access requests list",
    },
    list_families={"ward ": "Ward list"},
    fhir_search_keys={
        "patients": "Patient",
        "observations": "Observation",
        "allergies": "AllergyIntolerance",
        "problems": "Condition",
    },
    fhir_object_types={
        "records.Patient": "Patient",
        "records.ObservationSet": "Observation",
        "records.AllergyIntolerance": "AllergyIntolerance",
        "records.Problem": "Condition",
    },
)


FHIR_RESOURCES = (
    FHIRResourceType(
        type="Patient",
        capability=fhir_patients.CAPABILITY,
        type_view=patients_api.PatientTypeView.as_view(),
        instance_view=patients_api.PatientInstanceView.as_view(),
        read_scope="Read patients as a system client",
        write_scope="Create and update patients as a system client",
        id_converter="int",
        # Patients first, so an Observation in the same Bundle can name one by its fullUrl.
        transaction=TransactionPart(
            order=10, check_staff=patients_api.check_staff_may_register, record=patients_api.create_patients
        ),
    ),
    FHIRResourceType(
        type="Observation",
        capability=fhir_observations.CAPABILITY,
        type_view=observations_api.ObservationTypeView.as_view(),
        instance_view=observations_api.ObservationInstanceView.as_view(),
        read_scope="Read observations as a system client",
        write_scope="Record observations as a system client",
        transaction=TransactionPart(
            order=20,
            check_staff=observations_api.check_staff_may_record,
            record=observations_api.record_observations,
        ),
    ),
    FHIRResourceType(
        type="AllergyIntolerance",
        capability=fhir_clinical.ALLERGY_CAPABILITY,
        type_view=clinical_api.AllergyIntoleranceTypeView.as_view(),
        instance_view=clinical_api.AllergyIntoleranceInstanceView.as_view(),
        read_scope="Read allergies and intolerances as a system client",
        write_scope="Record allergies and intolerances as a system client",
    ),
    FHIRResourceType(
        type="Condition",
        capability=fhir_clinical.CONDITION_CAPABILITY,
        type_view=clinical_api.ConditionTypeView.as_view(),
        instance_view=clinical_api.ConditionInstanceView.as_view(),
        read_scope="Read problems and diagnoses as a system client",
        write_scope="Record problems and diagnoses as a system client",
    ),
)

# Patient-linked rows that are not entries of the record, so not in a subject-access export.
NOT_EXPORTED = {
    CareRelationship: "who may open the record (derived from admissions); shown as the access log",
    BreakGlassAccess: "each use is in the access log, with its reason",
    PatientMerge: "identity administration: a merged record's entries are exported under the survivor",
    PatientLink: "identity administration: a link between two records of one person",
    SubjectAccessRequest: "the request itself, kept by information governance",
    PatientGroupObjectPermission: "the permissions a care relationship grants, not the record",
    PatientUserObjectPermission: "the permissions a care relationship grants, not the record",
}


def _subject_access_and_timeline() -> None:
    for section in subject_access_selectors.RECORD_SECTIONS:
        register_section(
            section.key,
            section.title,
            section.collect,
            order=section.order,
            table=section.table,
            models=section.models,
        )
    for model, reason in NOT_EXPORTED.items():
        register_not_exported(model, reason)
    for source in timeline_selectors.RECORD_SOURCES:
        register_source(source)


ALERT_KINDS = (
    AlertKindSpec(
        AlertKind.NEWS2,
        AlertKind.NEWS2.label,
        alert_rules.NEWS2_ACTING_ROLES,
        response_required=True,
        order=10,
    ),
    AlertKindSpec(
        AlertKind.OBS_OVERDUE, AlertKind.OBS_OVERDUE.label, alert_rules.OVERDUE_ACTING_ROLES, order=20
    ),
)


def _details_current(here: str, user: Any) -> bool:
    # Clerks and managers open a patient on the summary URL and see the details there.
    return here == "records:patient_demographics" or (
        here == "records:patient_detail" and not user.is_clinical
    )


PATIENT_SECTIONS = (
    PatientSection(
        "Summary",
        "records:patient_detail",
        10,
        current_when=lambda here, user: here == "records:patient_detail" and user.is_clinical,
    ),
    PatientSection(
        "Observations", "records:observation_chart", 20, also_current_on=("records:observations_record",)
    ),
    PatientSection("Allergies", "records:allergy_list", 30, also_current_on=("records:allergy_new",)),
    PatientSection("Problems", "records:problem_list", 40, also_current_on=("records:problem_new",)),
    PatientSection("Notes", "records:note_list", 50),
    PatientSection("Care plans", "records:careplan_list", 60),
    PatientSection("CPR and escalation", "records:escalation_plan", 70),
    PatientSection("Timeline", "records:patient_timeline", 80),
    PatientSection(
        "Details", "records:patient_demographics", 1000, clinical=False, current_when=_details_current
    ),
)

BOTH_DOCUMENTS = frozenset({DISCHARGE_SUMMARY, CLINIC_LETTER})
DOCUMENT_SECTIONS = (
    # PRSB eDischarge and outpatient letter headings; both are mandatory in a discharge summary.
    DocumentSection(
        "allergies",
        "Allergies and adverse reactions",
        BOTH_DOCUMENTS,
        document_selectors.allergies_draft,
        order=30,
        mandatory=True,
    ),
    DocumentSection(
        "diagnoses", "Diagnoses", BOTH_DOCUMENTS, document_selectors.diagnoses_draft, order=40, mandatory=True
    ),
)

register_app_urls("records.urls")
_role_permissions()
_menu()
_landings()
register_access_log_names(ACCESS_LOG_NAMES)
for resource in FHIR_RESOURCES:
    register_fhir_resource(resource)
_subject_access_and_timeline()
for kind in ALERT_KINDS:
    register_alert_kind(kind)
for section in PATIENT_SECTIONS:
    register_patient_section(section)
for document_section in DOCUMENT_SECTIONS:
    register_document_section(document_section)
for relationship_kind, label in CareRelationshipKind.choices:
    register_care_relationship_kind(relationship_kind, label)
