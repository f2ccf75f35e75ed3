"""Everything orders adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*()."""

from epr.accounts.roles import Role, register_role_permissions
from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.fhir.registry import FHIRResourceType, register_fhir_resource
from epr.fhir.transactions import TransactionPart
from epr.navigation import Badge, MenuItem, register_menu_item
from epr.routes import register_app_urls
from orders.demo import load_demo, load_orders_demo
from orders.fhir import reports as fhir_reports
from orders.fhir import requests as fhir_requests
from orders.fhir import views as fhir_views
from orders.models import Order, OrderWarning, ResultObservation, ResultReport, Specimen
from orders.selectors.requests import order_entries
from orders.selectors.results import latest_creatinine_clearance, latest_egfr, result_entries, unmatched_count
from orders.services.results import ABNORMAL_KIND, CRITICAL_KIND, OVERDUE_KIND
from records.registries.alerts import AlertKindSpec, register_alert_kind
from records.registries.demo import DemoLoader, register_demo_loader
from records.registries.patient_page import PatientSection, register_patient_section
from records.registries.results import CREATININE_CLEARANCE, EGFR, register_result_provider
from records.registries.subject_access import register_section

READ = ["orders.view_resultreport", "orders.view_order"]
ACKNOWLEDGE = [*READ, "orders.acknowledge_resultreport"]
# The catalogue says which roles may order which test (and IR(ME)R grades for imaging); these
# permissions only say who uses the ordering pages at all.
ORDER = [*ACKNOWLEDGE, "orders.add_order", "orders.change_order", "orders.collect_specimen"]

CATALOGUE_MODELS = ("orderabletest", "testquestion", "orderset", "ordersetitem")

register_app_urls("orders.urls")
register_role_permissions(
    {
        Role.DOCTOR: ORDER,
        Role.NURSE: ORDER,
        Role.PHARMACIST: READ,
        Role.PHARMACY_TECHNICIAN: READ,
        Role.HCA: [*READ, "orders.add_order", "orders.collect_specimen"],
        Role.ADMIN: [
            "orders.file_unmatched_resultreport",
            *(f"orders.{verb}_{model}" for verb in ("add", "change", "view") for model in CATALOGUE_MODELS),
        ],
    }
)
register_result_provider(EGFR, latest_egfr)
register_result_provider(CREATININE_CLEARANCE, latest_creatinine_clearance)
register_section("results", "Results", result_entries, order=70, models=(ResultReport, ResultObservation))
register_section("orders", "Orders", order_entries, order=71, models=(Order, OrderWarning, Specimen))
register_patient_section(PatientSection("Orders", "orders:patient_orders", 26))
register_patient_section(PatientSection("Results", "orders:results", 27))
register_alert_kind(
    AlertKindSpec(
        CRITICAL_KIND,
        "Critical result",
        frozenset({Role.DOCTOR, Role.NURSE}),
        order=12,
        patient_page="orders:results",
    )
)
register_alert_kind(
    AlertKindSpec(
        ABNORMAL_KIND,
        "Abnormal result",
        frozenset({Role.DOCTOR, Role.NURSE}),
        order=40,
        patient_page="orders:results",
    )
)
register_alert_kind(
    AlertKindSpec(
        OVERDUE_KIND,
        "Result not acknowledged",
        frozenset({Role.DOCTOR}),
        order=45,
        patient_page="orders:results",
    )
)
register_menu_item(
    MenuItem(
        "Ward orders",
        "orders:ward_orders",
        34,
        shown_to=lambda user: user.has_perm("orders.collect_specimen"),
    )
)
register_menu_item(
    MenuItem(
        "My orders",
        "orders:my_orders",
        36,
        shown_to=lambda user: user.role == Role.DOCTOR,
    )
)
register_menu_item(
    MenuItem(
        "Unmatched results",
        "orders:unmatched",
        85,
        shown_to=lambda user: user.has_perm("orders.file_unmatched_resultreport"),
        badges=lambda user: [Badge(unmatched_count(), "waiting", "orange", testid="unmatched-count")],
    )
)
register_access_log_names(
    AccessLogNames(
        pages={
            "orders:results": "Results",
            "orders:result_acknowledge": "Result acknowledged",
            "orders:patient_orders": "Orders",
            "orders:order_new": "Order tests",
            "orders:order_detail": "Order",
            "orders:specimen_collect": "Specimen collected",
            "orders:order_cancel": "Order cancelled",
            "orders:order_resend": "Order sent again",
            "orders:specimen_label": "Specimen label",
        },
        lists={
            "unmatched results": "Unmatched results queue",
            "my orders": "My orders",
            "outstanding orders ": "Outstanding orders",
        },
        objects={
            "orders.ResultReport": "Result report",
            "orders.Order": "Order",
            "orders.Specimen": "Specimen",
        },
        fhir_search_keys={fhir_views.NOUN: "DiagnosticReport", fhir_views.REQUEST_NOUN: "ServiceRequest"},
        fhir_object_types={
            "orders.ResultReport": "DiagnosticReport",
            "orders.Order": "ServiceRequest",
            "orders.Specimen": "Specimen",
        },
    )
)
# Results come in as HL7 v2 (POST /hl7/v2) or as FHIR (POST /fhir/DiagnosticReport, or in a transaction
# Bundle after any Patient it names): both take system/DiagnosticReport.write.
register_fhir_resource(
    FHIRResourceType(
        type="DiagnosticReport",
        capability=fhir_reports.REPORT_CAPABILITY,
        type_view=fhir_views.DiagnosticReportTypeView.as_view(),
        instance_view=fhir_views.DiagnosticReportInstanceView.as_view(),
        read_scope="Read laboratory results (reports with their values) as a system client",
        write_scope="Send laboratory results as FHIR DiagnosticReports, or as HL7 v2 to /hl7/v2",
        transaction=TransactionPart(
            order=15, check_staff=fhir_views.check_may_file, record=fhir_views.file_reports
        ),
    )
)
register_fhir_resource(
    FHIRResourceType(
        type="ServiceRequest",
        capability=fhir_requests.REQUEST_CAPABILITY,
        type_view=fhir_views.ServiceRequestTypeView.as_view(),
        instance_view=fhir_views.ServiceRequestInstanceView.as_view(),
        read_scope="Read orders for tests and examinations as a system client",
        write_scope="Nothing yet: ServiceRequest is read-only (orders are placed in the EPR)",
    )
)
register_fhir_resource(
    FHIRResourceType(
        type="Specimen",
        capability=fhir_requests.SPECIMEN_CAPABILITY,
        type_view=fhir_views.SpecimenTypeView.as_view(),
        instance_view=fhir_views.SpecimenInstanceView.as_view(),
        read_scope="Read the specimens taken for orders as a system client",
        write_scope="Nothing yet: Specimen is read-only (specimens are recorded on the ward)",
    )
)
register_demo_loader(DemoLoader("orders", load_orders_demo, order=58))
register_demo_loader(DemoLoader("results", load_demo, order=60))

# The results of the admission in discharge summaries and letters (PRSB "Investigation results").
from orders.selectors.documents import investigation_results_draft  # noqa: E402
from records.registries.documents import (  # noqa: E402
    CLINIC_LETTER,
    DISCHARGE_SUMMARY,
    DocumentSection,
    register_document_section,
)

register_document_section(
    DocumentSection(
        "investigation-results",
        "Investigation results",
        frozenset({DISCHARGE_SUMMARY, CLINIC_LETTER}),
        investigation_results_draft,
        order=60,
    )
)
