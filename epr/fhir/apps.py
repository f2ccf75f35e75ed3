from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "epr.fhir"
    label = "fhir"
    verbose_name = "FHIR plumbing"
