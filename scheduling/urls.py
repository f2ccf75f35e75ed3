"""The app's pages, under the "scheduling" namespace."""

from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("patients/<int:patient_id>/wristband.pdf", views.wristband, name="wristband"),
]
