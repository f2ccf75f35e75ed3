"""The FHIR API under /fhir/, built from the registered resource types (epr/fhir/registry.py). Paths
are FHIR's own (no trailing slash); a trailing slash is also accepted because clients differ, and
anything else answers with a 404 OperationOutcome rather than an HTML page."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path, re_path

from epr.fhir.registry import fhir_resources
from epr.fhir.views import CapabilityView, TransactionView, UnknownEndpointView

app_name = "fhir"


def _with_and_without_slash(route: str, view: Any, name: str) -> list[URLPattern]:
    return [path(route, view, name=name), path(f"{route}/", view)]


def _resource_routes() -> list[URLPattern]:
    routes: list[URLPattern] = []
    for resource in fhir_resources():
        slug = resource.type.lower()
        routes += _with_and_without_slash(resource.type, resource.type_view, f"{slug}-type")
        routes += _with_and_without_slash(
            f"{resource.type}/<{resource.id_converter}:id>", resource.instance_view, slug
        )
    return routes


urlpatterns = [
    *_with_and_without_slash("metadata", CapabilityView.as_view(), "metadata"),
    *_resource_routes(),
    # The base URL, for transaction Bundles (/fhir/; "/fhir" itself is in base_urls.py).
    path("", TransactionView.as_view(), name="base"),
    re_path(r"^.*$", UnknownEndpointView.as_view()),
]
