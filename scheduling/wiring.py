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

# --- referrals and waiting lists ---

# --- discharge summaries and letters ---
