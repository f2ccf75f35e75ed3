"""The FHIR base URL without its trailing slash ("POST /fhir" with a transaction Bundle): a redirect
would make clients drop the body."""

from django.urls import path

from records.fhir.views import observations as fhir_observation_views

urlpatterns = [path("", fhir_observation_views.TransactionView.as_view())]
