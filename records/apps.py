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
