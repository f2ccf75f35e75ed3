"""The app's pages and interfaces, under the "orders" namespace."""

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("hl7/v2", views.HL7ResultsView.as_view(), name="hl7_results"),
]
