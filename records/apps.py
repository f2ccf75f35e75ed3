from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Patient record"

    def ready(self) -> None:
        from epr.accounts.roles import register_role_permissions

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
