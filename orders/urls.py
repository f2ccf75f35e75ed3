"""The app's pages and interfaces, under the "orders" namespace."""

from django.urls import path

from orders.views import requests
from orders.views import results as views

app_name = "orders"

urlpatterns = [
    path("hl7/v2", views.HL7ResultsView.as_view(), name="hl7_results"),
    path("patients/<int:patient_id>/results/", views.results, name="results"),
    path("patients/<int:patient_id>/results/trend/<str:code>/", views.result_trend, name="result_trend"),
    path("results/unmatched/", views.unmatched, name="unmatched"),
    path("results/unmatched/<int:report_id>/", views.unmatched_decide, name="unmatched_decide"),
    path(
        "patients/<int:patient_id>/results/<int:report_id>/acknowledge/",
        views.result_acknowledge,
        name="result_acknowledge",
    ),
    path("patients/<int:patient_id>/orders/", requests.patient_orders, name="patient_orders"),
    path("patients/<int:patient_id>/orders/new/", requests.order_new, name="order_new"),
    path("patients/<int:patient_id>/orders/<int:order_id>/", requests.order_detail, name="order_detail"),
    path(
        "patients/<int:patient_id>/orders/<int:order_id>/collect/",
        requests.specimen_collect,
        name="specimen_collect",
    ),
    path(
        "patients/<int:patient_id>/orders/<int:order_id>/cancel/", requests.order_cancel, name="order_cancel"
    ),
    path(
        "patients/<int:patient_id>/orders/<int:order_id>/resend/", requests.order_resend, name="order_resend"
    ),
    path(
        "patients/<int:patient_id>/orders/<int:order_id>/label.pdf",
        requests.specimen_label,
        name="specimen_label",
    ),
    path("orders/ward/", requests.ward_orders, name="ward_orders"),
    path("orders/ward/<int:ward_id>/", requests.ward_orders, name="ward_orders_ward"),
    path("orders/mine/", requests.my_orders, name="my_orders"),
]
