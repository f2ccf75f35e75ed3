"""Everything prescribing adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*()."""

from collections.abc import Callable
from typing import Any

from django.conf import settings

from epr.accounts.roles import Role, register_role_permissions
from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.fhir.registry import FHIRResourceType, register_fhir_resource
from epr.navigation import Badge, Landing, MenuItem, register_landing, register_menu_item
from epr.routes import register_app_urls
from prescribing.fhir import medications as fhir_medications
from prescribing.fhir import views as fhir_views
from prescribing.models import Administration, PharmacyReview, Prescription, PrescriptionCheck
from prescribing.receivers import check_prescriptions_again, check_weight_based_doses, stop_inpatient_chart
from prescribing.selectors.documents import medications_draft
from prescribing.selectors.prescriptions import administration_entries, prescription_entries
from prescribing.selectors.verification import open_query_count
from prescribing.services.antimicrobials import ALERT_KIND
from prescribing.services.demo import load_demo
from prescribing.services.rechecks import ALERT_KIND as RECHECK_ALERT_KIND
from records.registries.alerts import AlertKindSpec, register_alert_kind
from records.registries.demo import DemoLoader, register_demo_loader
from records.registries.documents import (
    CLINIC_LETTER,
    DISCHARGE_SUMMARY,
    DocumentSection,
    register_document_section,
)
from records.registries.patient_page import PatientSection, register_patient_section
from records.registries.subject_access import register_section
from records.signals import allergy_recorded, patient_discharged, weight_recorded

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
    fhir_search_keys={
        "medications": "Medication",
        "prescriptions": "MedicationRequest",
        "administrations": "MedicationAdministration",
    },
    fhir_object_types={
        "prescribing.VMP": "Medication",
        "prescribing.Prescription": "MedicationRequest",
        "prescribing.Administration": "MedicationAdministration",
    },
)

# Read-only: nothing is prescribed or given through the API yet, so the write scopes allow nothing.
FHIR_RESOURCES = (
    FHIRResourceType(
        type="Medication",
        capability=fhir_medications.MEDICATION_CAPABILITY,
        type_view=fhir_views.MedicationTypeView.as_view(),
        instance_view=fhir_views.MedicationInstanceView.as_view(),
        read_scope="Read the medicines catalogue (dm+d and curated products) as a system client",
        write_scope="Nothing yet: Medication is read-only",
    ),
    FHIRResourceType(
        type="MedicationRequest",
        capability=fhir_medications.REQUEST_CAPABILITY,
        type_view=fhir_views.MedicationRequestTypeView.as_view(),
        instance_view=fhir_views.MedicationRequestInstanceView.as_view(),
        read_scope="Read prescriptions as a system client",
        write_scope="Nothing yet: MedicationRequest is read-only",
    ),
    FHIRResourceType(
        type="MedicationAdministration",
        capability=fhir_medications.ADMINISTRATION_CAPABILITY,
        type_view=fhir_views.MedicationAdministrationTypeView.as_view(),
        instance_view=fhir_views.MedicationAdministrationInstanceView.as_view(),
        read_scope="Read the doses given and not given as a system client",
        write_scope="Nothing yet: MedicationAdministration is read-only",
    ),
)

register_app_urls("prescribing.urls")
_role_permissions()
_menu()
register_access_log_names(ACCESS_LOG_NAMES)
for resource in FHIR_RESOURCES:
    register_fhir_resource(resource)
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


# Antimicrobial review, discharge and the discharge summary's medicines.
register_alert_kind(
    AlertKindSpec(
        ALERT_KIND,
        "Antimicrobial review due",
        frozenset({Role.DOCTOR, Role.PHARMACIST}),
        order=30,
        patient_page="prescribing:drug_chart",
    )
)
patient_discharged.connect(stop_inpatient_chart, dispatch_uid="prescribing-stop-inpatient-chart")
allergy_recorded.connect(check_prescriptions_again, dispatch_uid="prescribing-check-after-allergy")
weight_recorded.connect(check_weight_based_doses, dispatch_uid="prescribing-check-after-weight")
register_alert_kind(
    AlertKindSpec(
        RECHECK_ALERT_KIND,
        "Medicines to review (allergy or weight)",
        frozenset({Role.DOCTOR, Role.PHARMACIST, Role.NURSE}),
        order=15,
        patient_page="prescribing:drug_chart",
    )
)
register_document_section(
    DocumentSection(
        "medications",
        "Medications and medical devices",
        frozenset({DISCHARGE_SUMMARY, CLINIC_LETTER}),
        medications_draft,
        order=50,
        mandatory=True,
    )
)
register_access_log_names(
    AccessLogNames(
        pages={"prescribing:antimicrobial_review": "Antimicrobial review"},
        objects={"prescribing.AntimicrobialReview": "Antimicrobial review"},
    )
)


# Ward stock: ward staff and pharmacy see and record it; pharmacy supplies what wards ask for.
STOCK = ["prescribing.view_wardstock", "prescribing.add_stockmovement"]
register_role_permissions(
    {
        Role.NURSE: STOCK,
        Role.PHARMACIST: [*STOCK, "prescribing.supply_stock"],
        Role.PHARMACY_TECHNICIAN: [*STOCK, "prescribing.supply_stock"],
    }
)
register_menu_item(
    MenuItem("Ward stock", "prescribing:ward_stock", 17, shown_to=_may("prescribing.view_wardstock"))
)
register_menu_item(
    MenuItem("Stock requests", "prescribing:stock_requests", 18, shown_to=_may("prescribing.supply_stock"))
)
