"""Everything scheduling adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*(). The app's own issue fills the rest; docs/adding-an-app.md shows how."""

from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.routes import register_app_urls
from records.registries.patient_page import BannerItem, register_banner_item
from records.registries.subject_access import register_section
from scheduling.models import (
    Appointment,
    BedRequest,
    ClinicalDocument,
    ClockEvent,
    Referral,
    ReferralAttachment,
    TheatreCase,
    WaitingListEntry,
)
from scheduling.selectors import subject_access as sar

register_app_urls("scheduling.urls")
register_banner_item(BannerItem("wristband", "scheduling/banner_wristband.html", order=90))
register_access_log_names(AccessLogNames(pages={"scheduling:wristband": "Wristband printed"}))
register_section(
    "referrals", "Referrals", sar.referral_entries, order=72, models=(Referral, ReferralAttachment)
)
register_section(
    "waiting-lists", "Waiting lists", sar.waiting_entries, order=73, models=(WaitingListEntry, ClockEvent)
)
register_section("appointments", "Appointments", sar.appointment_entries, order=74, models=(Appointment,))
register_section("theatre-cases", "Theatre lists", sar.theatre_entries, order=75, models=(TheatreCase,))
register_section("bed-requests", "Bed requests", sar.bed_request_entries, order=76, models=(BedRequest,))
register_section(
    "documents", "Discharge summaries and letters", sar.document_entries, order=77, models=(ClinicalDocument,)
)

# --- bed board ---
# Imports stay in the block so each feature's wiring reads (and merges) on its own.
from epr.accounts.roles import Role, register_role_permissions  # noqa: E402
from epr.navigation import MenuItem, register_menu_item  # noqa: E402
from records.registries.demo import DemoLoader, register_demo_loader  # noqa: E402
from records.signals import patient_discharged, patient_transferred  # noqa: E402
from scheduling.demo.beds import load_bed_board_demo  # noqa: E402
from scheduling.receivers import bed_awaits_cleaning  # noqa: E402

BED_BOARD_READERS = (
    Role.DOCTOR,
    Role.NURSE,
    Role.HCA,
    Role.PHARMACIST,
    Role.PHARMACY_TECHNICIAN,
    Role.WARD_CLERK,
    Role.MANAGER,
)
BED_BOARD_VIEW = "scheduling.view_bedstate"
register_role_permissions({role: [BED_BOARD_VIEW] for role in BED_BOARD_READERS})
register_role_permissions(
    {
        Role.DOCTOR: ["scheduling.add_bedrequest"],
        # Site and bed managers are usually senior nurses: the nurse role allocates too.
        Role.NURSE: ["scheduling.add_bedrequest", "scheduling.manage_beds"],
        Role.MANAGER: ["scheduling.add_bedrequest", "scheduling.manage_beds"],
    }
)
register_menu_item(
    MenuItem("Bed board", "scheduling:bed_board", 22, shown_to=lambda user: user.has_perm(BED_BOARD_VIEW))
)
register_banner_item(
    BannerItem(
        "bed-request",
        "scheduling/beds/banner_bed_request.html",
        order=91,
        shown_for=lambda opened: opened.access.clinical or opened.access.via == "role",
    )
)
register_access_log_names(
    AccessLogNames(
        pages={"scheduling:bed_request_new": "Bed request"},
        objects={"scheduling.BedRequest": "Bed request", "scheduling.BedState": "Bed state"},
        lists={"bed board": "Bed board", "bed request": "Bed request (bed manager)"},
    )
)
patient_discharged.connect(bed_awaits_cleaning, dispatch_uid="scheduling-bed-awaits-cleaning-discharge")
patient_transferred.connect(bed_awaits_cleaning, dispatch_uid="scheduling-bed-awaits-cleaning-transfer")
register_demo_loader(DemoLoader("bed-board", load_bed_board_demo, order=50))

# --- clinics and appointments ---
from epr.accounts.roles import Role as _Role  # noqa: E402
from epr.accounts.roles import register_role_permissions as _register_role_permissions  # noqa: E402
from epr.navigation import Badge as _Badge  # noqa: E402
from epr.navigation import MenuItem as _MenuItem  # noqa: E402
from epr.navigation import register_menu_item as _register_menu_item  # noqa: E402
from records.registries.care_relationships import (  # noqa: E402
    register_care_relationship_kind as _register_care_kind,
)
from records.registries.demo import DemoLoader as _DemoLoader  # noqa: E402
from records.registries.demo import register_demo_loader as _register_demo_loader  # noqa: E402
from records.registries.patient_page import PatientSection as _PatientSection  # noqa: E402
from records.registries.patient_page import register_patient_section as _register_patient_section  # noqa: E402
from scheduling.demo.clinics import load_clinics_demo  # noqa: E402
from scheduling.selectors.clinics import to_rebook_count  # noqa: E402
from scheduling.services.appointments import CARE_KIND as _CLINIC_CARE_KIND  # noqa: E402

# Booking clerks book, move and cancel; clinic staff (doctors, nurses, HCAs) record arrived, seen,
# did not attend and could not wait, and see the clinic lists; theatre lists are kept by clerks and
# the theatre team; administrators set clinics and their session templates up in Django admin.
_CLINIC_READ = ["scheduling.view_appointment", "scheduling.view_clinicsession", "scheduling.view_clinic"]
_ATTENDANCE = [*_CLINIC_READ, "scheduling.change_appointment"]
_THEATRE = ["scheduling.view_theatrecase", "scheduling.add_theatrecase", "scheduling.change_theatrecase"]
_register_role_permissions(
    {
        _Role.WARD_CLERK: [
            *_ATTENDANCE,
            *_THEATRE,
            "scheduling.book_appointment",
            "scheduling.change_clinicsession",
        ],
        _Role.DOCTOR: [*_ATTENDANCE, *_THEATRE],
        _Role.NURSE: [*_ATTENDANCE, *_THEATRE],
        _Role.HCA: _ATTENDANCE,
        _Role.MANAGER: [*_CLINIC_READ, "scheduling.change_clinicsession"],
        _Role.ADMIN: [
            *_CLINIC_READ,
            "scheduling.change_clinicsession",
            "scheduling.add_clinic",
            "scheduling.change_clinic",
            "scheduling.add_sessiontemplate",
            "scheduling.change_sessiontemplate",
            "scheduling.view_sessiontemplate",
        ],
    }
)
_register_care_kind(_CLINIC_CARE_KIND, "Clinic appointment")
_register_patient_section(
    _PatientSection(
        "Appointments",
        "scheduling:patient_appointments",
        29,
        clinical=False,
        also_current_on=(
            "scheduling:book_search",
            "scheduling:book_slot",
            "scheduling:appointment_detail",
            "scheduling:appointment_note",
            "scheduling:appointment_cancel",
        ),
    )
)


def _rebook_badges(user: object) -> list[_Badge]:
    waiting = to_rebook_count()
    return [_Badge(waiting, "to rebook", "orange", testid="rebook-count")] if waiting else []


_register_menu_item(
    _MenuItem(
        "Book appointments",
        "scheduling:slot_search",
        26,
        shown_to=lambda user: user.has_perm("scheduling.book_appointment"),
        badges=_rebook_badges,
    )
)
_register_menu_item(
    _MenuItem(
        "Clinic lists",
        "scheduling:clinic_lists",
        27,
        shown_to=lambda user: user.has_perm("scheduling.view_clinicsession"),
    )
)
register_access_log_names(
    AccessLogNames(
        pages={
            "scheduling:patient_appointments": "Appointments",
            "scheduling:book_search": "Free slots for the patient",
            "scheduling:book_slot": "Appointment booked",
            "scheduling:appointment_detail": "Appointment",
            "scheduling:appointment_status": "Attendance recorded",
            "scheduling:appointment_note": "Appointment note changed",
            "scheduling:appointment_cancel": "Appointment cancelled",
            "scheduling:appointment_letter": "Appointment letter",
        },
        objects={"scheduling.Appointment": "Appointment", "scheduling.TheatreCase": "Theatre case"},
        exports={"scheduling.Appointment": "Appointment letter"},
        lists={"clinic list ": "Clinic list", "appointments to rebook": "Appointments to rebook"},
    )
)
_register_demo_loader(_DemoLoader("clinics", load_clinics_demo, order=52))

# --- referrals and waiting lists ---
from epr.navigation import Badge  # noqa: E402
from records.registries.care_relationships import register_care_relationship_kind  # noqa: E402
from records.registries.patient_page import PatientSection, register_patient_section  # noqa: E402
from scheduling.demo.referrals import load_referrals_demo  # noqa: E402
from scheduling.selectors.referrals import triage_waiting_count  # noqa: E402
from scheduling.services.referrals import REFERRAL_CARE_KIND  # noqa: E402

REFERRAL_READ = ["scheduling.view_referral", "scheduling.view_referralattachment"]
REFERRAL_WRITE = [
    *REFERRAL_READ,
    "scheduling.add_referral",
    "scheduling.change_referral",
    "scheduling.add_referralattachment",
    "scheduling.view_waitinglistentry",
]
register_role_permissions(
    {
        Role.WARD_CLERK: REFERRAL_WRITE,
        Role.DOCTOR: [*REFERRAL_WRITE, "scheduling.triage_referral", "scheduling.add_clockevent"],
        Role.NURSE: [*REFERRAL_READ, "scheduling.view_waitinglistentry"],
        Role.MANAGER: ["scheduling.view_waitinglistentry"],
    }
)
register_care_relationship_kind(REFERRAL_CARE_KIND, "Referral to the team")
register_patient_section(
    PatientSection(
        "Referrals",
        "scheduling:patient_referrals",
        28,
        clinical=False,
        also_current_on=("scheduling:referral_new", "scheduling:referral_detail", "scheduling:referral_edit"),
    )
)


def _triage_badges() -> list[Badge]:
    waiting = triage_waiting_count()
    return [Badge(waiting, "to triage", "orange", testid="triage-count")] if waiting else []


register_menu_item(
    MenuItem(
        "Referrals to triage",
        "scheduling:triage_queue",
        24,
        shown_to=lambda user: (
            user.has_perm("scheduling.triage_referral") or user.has_perm("scheduling.add_referral")
        ),
        badges=lambda user: _triage_badges(),
    )
)
register_menu_item(
    MenuItem(
        "Waiting list",
        "scheduling:waiting_list",
        25,
        shown_to=lambda user: user.has_perm("scheduling.view_waitinglistentry"),
    )
)
register_access_log_names(
    AccessLogNames(
        pages={
            "scheduling:patient_referrals": "Referrals",
            "scheduling:referral_new": "Referral registered",
            "scheduling:referral_detail": "Referral",
            "scheduling:referral_edit": "Referral changed",
            "scheduling:referral_triage": "Referral triaged",
            "scheduling:referral_close": "Referral closed",
            "scheduling:referral_attachment_add": "Referral attachment added",
            "scheduling:referral_attachment": "Referral attachment",
            "scheduling:clock_event_new": "RTT clock event",
        },
        objects={
            "scheduling.Referral": "Referral",
            "scheduling.ReferralAttachment": "Referral attachment",
            "scheduling.WaitingListEntry": "Waiting-list entry",
        },
        lists={"referrals to triage ": "Referrals to triage", "waiting list ": "Waiting list"},
    )
)
register_demo_loader(DemoLoader("referrals", load_referrals_demo, order=54))

# --- discharge summaries and letters ---
from epr.accounts.roles import Role as _DocRole  # noqa: E402
from epr.accounts.roles import register_role_permissions as _doc_role_permissions  # noqa: E402
from records.registries.demo import DemoLoader as _DocDemoLoader  # noqa: E402
from records.registries.demo import register_demo_loader as _doc_demo_loader  # noqa: E402
from records.registries.patient_page import PatientSection as _DocSection  # noqa: E402
from records.registries.patient_page import register_patient_section as _doc_section  # noqa: E402
from records.signals import patient_discharged as _discharged  # noqa: E402
from scheduling.demo.documents import load_documents_demo  # noqa: E402
from scheduling.services.documents import start_on_discharge  # noqa: E402

_DOCUMENT_READ = ["scheduling.view_clinicaldocument"]
_DOCUMENT_WRITE = [*_DOCUMENT_READ, "scheduling.add_clinicaldocument", "scheduling.change_clinicaldocument"]
# Doctors write and sign; the rest of the ward team reads what was sent.
_doc_role_permissions(
    {
        _DocRole.DOCTOR: _DOCUMENT_WRITE,
        _DocRole.NURSE: _DOCUMENT_READ,
        _DocRole.PHARMACIST: _DOCUMENT_READ,
        _DocRole.WARD_CLERK: _DOCUMENT_READ,
    }
)
_doc_section(_DocSection("Letters", "scheduling:patient_documents", 30))
register_access_log_names(
    AccessLogNames(
        pages={
            "scheduling:patient_documents": "Letters",
            "scheduling:document_edit": "Discharge summary or letter",
            "scheduling:document_download": "Discharge summary or letter (PDF)",
        },
        objects={
            "scheduling.ClinicalDocument": "Discharge summary or letter",
            "scheduling.DocumentDelivery": "Letter sending",
        },
    )
)
_discharged.connect(start_on_discharge, dispatch_uid="scheduling-discharge-summary-draft")
_doc_demo_loader(_DocDemoLoader("documents", load_documents_demo, order=62))

# --- FHIR ---
# Location, Schedule and Slot hold no patient data; Encounter and Appointment are patients' (through
# records' access door). Only Appointment is written: staff who may book, through the booking service.
from epr.fhir.registry import FHIRResourceType, register_fhir_resource  # noqa: E402
from scheduling.fhir import appointments as fhir_appointments  # noqa: E402
from scheduling.fhir import encounters as fhir_encounters  # noqa: E402
from scheduling.fhir import locations as fhir_locations  # noqa: E402
from scheduling.fhir import views as fhir_views  # noqa: E402

register_access_log_names(
    AccessLogNames(
        fhir_search_keys={
            fhir_views.LOCATION_NOUN: "Location",
            fhir_views.SCHEDULE_NOUN: "Schedule",
            fhir_views.SLOT_NOUN: "Slot",
            fhir_views.ENCOUNTER_NOUN: "Encounter",
            fhir_views.APPOINTMENT_NOUN: "Appointment",
        },
        fhir_object_types={"scheduling.Appointment": "Appointment"},
    )
)
for _fhir_resource in (
    FHIRResourceType(
        type="Location",
        capability=fhir_locations.CAPABILITY,
        type_view=fhir_views.LocationTypeView.as_view(),
        instance_view=fhir_views.LocationInstanceView.as_view(),
        read_scope="Read the sites, wards, bays and beds (with the bed board's state) and clinics' places",
        write_scope="Nothing yet: Location is read-only",
    ),
    FHIRResourceType(
        type="Schedule",
        capability=fhir_appointments.SCHEDULE_CAPABILITY,
        type_view=fhir_views.ScheduleTypeView.as_view(),
        instance_view=fhir_views.ScheduleInstanceView.as_view(),
        read_scope="Read the clinics as Schedules",
        write_scope="Nothing yet: Schedule is read-only (clinics are set up in the EPR)",
    ),
    FHIRResourceType(
        type="Slot",
        capability=fhir_appointments.SLOT_CAPABILITY,
        type_view=fhir_views.SlotTypeView.as_view(),
        instance_view=fhir_views.SlotInstanceView.as_view(),
        read_scope="Read clinic slots, free and busy",
        write_scope="Nothing yet: Slot is read-only (slots come from the clinics' sessions)",
    ),
    FHIRResourceType(
        type="Encounter",
        capability=fhir_encounters.CAPABILITY,
        type_view=fhir_views.EncounterTypeView.as_view(),
        instance_view=fhir_views.EncounterInstanceView.as_view(),
        read_scope="Read admissions (with their ward stays) and outpatient attendances",
        write_scope="Nothing yet: Encounter is read-only (patients are admitted in the EPR)",
    ),
    FHIRResourceType(
        type="Appointment",
        capability=fhir_appointments.APPOINTMENT_CAPABILITY,
        type_view=fhir_views.AppointmentTypeView.as_view(),
        instance_view=fhir_views.AppointmentInstanceView.as_view(),
        read_scope="Read patients' appointments",
        write_scope="Nothing for a client-credentials token: appointments are booked by a member of staff",
    ),
):
    register_fhir_resource(_fhir_resource)
