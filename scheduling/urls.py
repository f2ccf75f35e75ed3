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
]


# --- clinics and appointments ---

# --- referrals and waiting lists ---

# --- discharge summaries and letters ---
