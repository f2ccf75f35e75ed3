"""Everything prescribing adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*()."""

from collections.abc import Callable
from typing import Any

from django.conf import settings

from epr.accounts.roles import Role, register_role_permissions
from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.navigation import Badge, Landing, MenuItem, register_landing, register_menu_item
from epr.routes import register_app_urls
from prescribing.models import Administration, PharmacyReview, Prescription, PrescriptionCheck
from prescribing.selectors.prescriptions import administration_entries, prescription_entries
from prescribing.selectors.verification import open_query_count
from prescribing.services.demo import load_demo
from records.registries.demo import DemoLoader, register_demo_loader
from records.registries.patient_page import PatientSection, register_patient_section
from records.registries.subject_access import register_section

PRESCRIBE = ["prescribing.add_prescription", "prescribing.stop_prescription", "prescribing.view_prescription"]
READ = ["prescribing.view_prescription"]
ADMINISTER = ["prescribing.add_administration", "prescribing.view_administration"]
WITNESS = ["prescribing.witness_administration"]


def _role_permissions() -> None:
    hca = [*READ, *ADMINISTER] if getattr(settings, "EPR_HCA_ADMINISTERS", False) else []
    register_role_permissions(
        {
            Role.DOCTOR: [*PRESCRIBE, *ADMINISTER, *WITNESS],
            Role.NURSE: [*READ, *ADMINISTER, *WITNESS],
            Role.PHARMACIST: [*READ, "prescribing.verify_prescription", *WITNESS],
            Role.PHARMACY_TECHNICIAN: [*READ, *WITNESS],
            Role.HCA: hca,
        }
    )


def _may(permission: str) -> Callable[[Any], bool]:
    return lambda user: user.has_perm(permission)


def _query_badges(user: Any) -> list[Badge]:
    return [Badge(open_query_count(user), "open", "orange", testid="queries-open")]


def _menu() -> None:
    register_menu_item(
        MenuItem(
            "Medication round",
            "prescribing:medication_round",
            15,
            shown_to=_may("prescribing.add_administration"),
        )
    )
    register_menu_item(
        MenuItem(
            "Verification queue",
            "prescribing:verification_queue",
            16,
            shown_to=_may("prescribing.verify_prescription"),
        )
    )
    register_menu_item(
        MenuItem(
            "Pharmacy queries",
            "prescribing:my_queries",
            35,
            shown_to=_may("prescribing.add_prescription"),
            badges=_query_badges,
        )
    )
    register_landing(
        Landing(
            "prescribing:verification_queue",
            15,
            lambda user: user.has_perm("prescribing.verify_prescription"),
        )
    )


ACCESS_LOG_NAMES = AccessLogNames(
    pages={
        "prescribing:drug_chart": "Medicines (drug chart)",
        "prescribing:medicine_choose": "Choose a medicine to prescribe",
        "prescribing:prescribe": "Prescribe",
        "prescribing:prescription_stop": "Stop a prescription",
        "prescribing:administer": "Give a dose",
        "prescribing:not_given": "Dose not given",
        "prescribing:prescription_review": "Pharmacy review",
    },
    objects={
        "prescribing.Prescription": "Prescription",
        "prescribing.Administration": "Dose administration",
    },
    lists={"verification queue": "Pharmacy verification queue", "pharmacy queries": "Pharmacy queries"},
    list_families={"medication round ": "Medication round"},
)

register_app_urls("prescribing.urls")
_role_permissions()
_menu()
register_access_log_names(ACCESS_LOG_NAMES)
register_patient_section(
    PatientSection(
        "Medicines",
        "prescribing:drug_chart",
        25,
        also_current_on=(
            "prescribing:medicine_choose",
            "prescribing:prescribe",
            "prescribing:administer",
            "prescribing:not_given",
        ),
    )
)
register_section(
    "medicines",
    "Medicines prescribed",
    prescription_entries,
    order=65,
    models=(Prescription, PrescriptionCheck, PharmacyReview),
)
register_section(
    "administrations", "Medicines given", administration_entries, order=66, models=(Administration,)
)
register_demo_loader(DemoLoader("medicines", load_demo, order=50))
