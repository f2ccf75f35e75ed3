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

# --- clinics and appointments ---

# --- referrals and waiting lists ---

# --- discharge summaries and letters ---
