"""The FHIR base URL without its trailing slash ("POST /fhir" with a transaction Bundle): a redirect
would make clients drop the body."""

from django.urls import path

from epr.fhir.views import TransactionView

urlpatterns = [path("", TransactionView.as_view())]
