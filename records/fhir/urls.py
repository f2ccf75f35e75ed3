"""The FHIR API under /fhir/. Paths are FHIR's own (no trailing slash); a trailing slash is also accepted
because clients differ, and anything else answers with a 404 OperationOutcome rather than an HTML page."""

from django.urls import path, re_path

from records.fhir.views import clinical as fhir_clinical_views
from records.fhir.views import observations as fhir_observation_views
from records.fhir.views import patients as fhir_views

app_name = "fhir"


def _with_and_without_slash(route: str, view, name: str) -> list:
    return [path(route, view, name=name), path(f"{route}/", view)]


urlpatterns = [
    *_with_and_without_slash("metadata", fhir_views.CapabilityView.as_view(), "metadata"),
    *_with_and_without_slash("Patient", fhir_views.PatientTypeView.as_view(), "patient-type"),
    *_with_and_without_slash("Patient/<int:id>", fhir_views.PatientInstanceView.as_view(), "patient"),
    *_with_and_without_slash(
        "Observation", fhir_observation_views.ObservationTypeView.as_view(), "observation-type"
    ),
    *_with_and_without_slash(
        "Observation/<str:id>", fhir_observation_views.ObservationInstanceView.as_view(), "observation"
    ),
    *_with_and_without_slash(
        "AllergyIntolerance",
        fhir_clinical_views.AllergyIntoleranceTypeView.as_view(),
        "allergyintolerance-type",
    ),
    *_with_and_without_slash(
        "AllergyIntolerance/<str:id>",
        fhir_clinical_views.AllergyIntoleranceInstanceView.as_view(),
        "allergyintolerance",
    ),
    *_with_and_without_slash("Condition", fhir_clinical_views.ConditionTypeView.as_view(), "condition-type"),
    *_with_and_without_slash(
        "Condition/<str:id>", fhir_clinical_views.ConditionInstanceView.as_view(), "condition"
    ),
    # The base URL, for transaction Bundles (/fhir/; "/fhir" itself is outside this URLconf).
    path("", fhir_observation_views.TransactionView.as_view(), name="base"),
    re_path(r"^.*$", fhir_views.UnknownEndpointView.as_view()),
]
