"""The app's pages, under the "scheduling" namespace. Each feature's pages are listed in its own
block, so the features grow side by side."""

from django.urls import path

from scheduling.views import wristbands

app_name = "scheduling"

urlpatterns = [
    path("patients/<int:patient_id>/wristband.pdf", wristbands.wristband, name="wristband"),
]

# --- bed board ---

# --- clinics and appointments ---

# --- referrals and waiting lists ---

# --- discharge summaries and letters ---
