"""The OpenAPI 3 schema of the JSON APIs (drf-spectacular): signed-in staff and API clients only, the
FHIR API left to its CapabilityStatement, and Swagger UI's page served from the site under the CSP."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import login

pytestmark = pytest.mark.django_db


def test_the_schema_needs_a_signed_in_user(client):
    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/docs/").status_code in (401, 403)


def test_the_schema_is_openapi_3_without_the_fhir_api(client, nurse):
    response = login(client, nurse).get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "EPR JSON APIs"
    assert not [path for path in schema.get("paths", {}) if path.startswith("/fhir")]
    assert response["Cache-Control"] == "no-store"


def test_the_docs_page_loads_only_the_sites_own_files(client, nurse):
    html = login(client, nurse).get("/api/docs/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert len(sources) == 3
    assert all(src.startswith("/") and not src.startswith("//") for src in sources)
    assert "<style" not in html and not re.search(r"<script>", html)  # nothing inline for the CSP to refuse
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
