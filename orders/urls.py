"""The app's pages and interfaces, under the "orders" namespace."""

from django.urls import path

from orders.views import results as views

app_name = "orders"

urlpatterns = [
    path("hl7/v2", views.HL7ResultsView.as_view(), name="hl7_results"),
    path("patients/<int:patient_id>/results/", views.results, name="results"),
    path("results/unmatched/", views.unmatched, name="unmatched"),
    path("results/unmatched/<int:report_id>/", views.unmatched_decide, name="unmatched_decide"),
    path(
        "patients/<int:patient_id>/results/<int:report_id>/acknowledge/",
        views.result_acknowledge,
        name="result_acknowledge",
    ),
]
