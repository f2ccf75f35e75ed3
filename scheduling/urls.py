"""The app's pages, under the "scheduling" namespace. Each feature's pages are listed in its own
block, so the features grow side by side."""

from django.urls import path

from scheduling.views import wristbands

app_name = "scheduling"

urlpatterns = [
    path("patients/<int:patient_id>/wristband.pdf", wristbands.wristband, name="wristband"),
]

# --- bed board ---
from scheduling.views import beds  # noqa: E402 (each feature imports its views in its own block)

urlpatterns += [
    path("bed-board/", beds.board, name="bed_board"),
    path("bed-board/fragment/", beds.board_fragment, name="bed_board_fragment"),
    path("bed-board/occupancy/", beds.occupancy, name="bed_occupancy"),
    path("bed-board/beds/<int:bed_id>/", beds.bed_detail, name="bed_detail"),
    path("bed-board/beds/<int:bed_id>/available/", beds.bed_available, name="bed_available"),
    path("bed-board/requests/<int:request_id>/allocate/", beds.request_allocate, name="bed_request_allocate"),
    path("bed-board/requests/<int:request_id>/arrived/", beds.request_arrived, name="bed_request_arrived"),
    path("bed-board/requests/<int:request_id>/cancel/", beds.request_cancel, name="bed_request_cancel"),
    path("patients/<int:patient_id>/bed-request/", beds.bed_request_new, name="bed_request_new"),
    path("bed-board/requests/new/", beds.bed_request_find, name="bed_request_find"),
]

# --- clinics and appointments ---
from scheduling.views import appointments, clinics  # noqa: E402

_APPOINTMENTS = "patients/<int:patient_id>/appointments/"
_APPOINTMENT = f"{_APPOINTMENTS}<int:appointment_id>/"
_SESSION = "clinics/sessions/<int:session_id>/"
urlpatterns += [
    path("clinics/slots/", clinics.slot_search, name="slot_search"),
    path("clinics/lists/", clinics.clinic_lists, name="clinic_lists"),
    path("clinics/rebook/", clinics.to_rebook, name="to_rebook"),
    path(_SESSION, clinics.session_detail, name="session_detail"),
    path(f"{_SESSION}cancel/", clinics.session_cancel, name="session_cancel"),
    path(f"{_SESSION}reduce/", clinics.session_reduce, name="session_reduce"),
    path(f"{_SESSION}cases/", clinics.theatre_case_add, name="theatre_case_add"),
    path(f"{_SESSION}cases/<int:case_id>/move/", clinics.theatre_case_move, name="theatre_case_move"),
    path(f"{_SESSION}cases/<int:case_id>/cancel/", clinics.theatre_case_cancel, name="theatre_case_cancel"),
    path(_APPOINTMENTS, appointments.patient_appointments, name="patient_appointments"),
    path(f"{_APPOINTMENTS}book/", appointments.book_search, name="book_search"),
    path(f"{_APPOINTMENTS}book/<int:slot_id>/", appointments.book_slot, name="book_slot"),
    path(_APPOINTMENT, appointments.appointment_detail, name="appointment_detail"),
    path(f"{_APPOINTMENT}status/", appointments.appointment_status, name="appointment_status"),
    path(f"{_APPOINTMENT}note/", appointments.appointment_note, name="appointment_note"),
    path(f"{_APPOINTMENT}cancel/", appointments.appointment_cancel, name="appointment_cancel"),
    path(f"{_APPOINTMENT}letter.pdf", appointments.appointment_letter, name="appointment_letter"),
]

# --- referrals and waiting lists ---
from scheduling.views import referrals, waiting  # noqa: E402

_REFERRAL = "patients/<int:patient_id>/referrals/<int:referral_id>/"
urlpatterns += [
    path("referrals/triage/", referrals.triage_queue, name="triage_queue"),
    path("waiting-list/", waiting.waiting_list, name="waiting_list"),
    path("patients/<int:patient_id>/referrals/", referrals.patient_referrals, name="patient_referrals"),
    path("patients/<int:patient_id>/referrals/new/", referrals.referral_new, name="referral_new"),
    path(_REFERRAL, referrals.referral_detail, name="referral_detail"),
    path(f"{_REFERRAL}edit/", referrals.referral_edit, name="referral_edit"),
    path(f"{_REFERRAL}triage/", referrals.referral_triage, name="referral_triage"),
    path(f"{_REFERRAL}close/", referrals.referral_close, name="referral_close"),
    path(f"{_REFERRAL}attachments/", referrals.attachment_add, name="referral_attachment_add"),
    path(
        f"{_REFERRAL}attachments/<int:attachment_id>/",
        referrals.attachment_download,
        name="referral_attachment",
    ),
    path(f"{_REFERRAL}waiting/<int:entry_id>/events/", waiting.clock_event_new, name="clock_event_new"),
]

# --- discharge summaries and letters ---
from scheduling.views import documents  # noqa: E402

_LETTERS = "patients/<int:patient_id>/letters/"
urlpatterns += [
    path(_LETTERS, documents.patient_documents, name="patient_documents"),
    path(f"{_LETTERS}start/", documents.document_start, name="document_start"),
    path(f"{_LETTERS}<int:document_id>/", documents.document_edit, name="document_edit"),
    path(f"{_LETTERS}<int:document_id>/pdf/", documents.document_download, name="document_download"),
    path(f"{_LETTERS}deliveries/<int:delivery_id>/", documents.delivery_action, name="delivery_action"),
]
