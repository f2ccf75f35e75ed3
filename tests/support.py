"""Helpers every test module may use: signing a user in, FHIR response checks, an OAuth client, and
how a text appears in a page. Fixtures live in conftest.py; helpers live here, because pytest does not
mean conftest to be imported, and a test module should not import another test module."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape
from django_otp.plugins.otp_totp.models import TOTPDevice
from fhir.resources.R4B import get_fhir_model_class

from epr.accounts.services import api_client_create
from epr.audit.models import AuditEvent

FHIR_JSON = "application/fhir+json"


def login(client: Client, user) -> Client:
    """The client signed in as the user, with the second factor passed where the role needs one."""
    client.force_login(user)
    if user.role == "admin":
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


def signed_in(user) -> Client:
    """A new client signed in as the user."""
    return login(Client(), user)


def shown(text: str) -> str:
    """The text as a page shows it: a name such as O'Neil is escaped in the HTML."""
    return str(escape(text))


def body_of(response, resource_type: str) -> dict[str, Any]:
    """The response body, after checking it is a valid FHIR R4 resource of the expected type."""
    body = response.json()
    assert body["resourceType"] == resource_type, body
    get_fhir_model_class(resource_type).model_validate(body)
    return body


def assert_outcome(response, status: int, code: str | None = None) -> dict[str, Any]:
    """The OperationOutcome the response carries, after checking its status and first issue code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = body_of(response, "OperationOutcome")
    if code:
        assert body["issue"][0]["code"] == code
    return body


def token_client(client: Client, name: str, scopes: list[str]) -> Client:
    """A client holding a bearer token for a new API client granted exactly these scopes."""
    api_client, secret = api_client_create(name=name, scopes=scopes)
    basic = base64.b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200, response.content
    token = response.json()
    assert set(token["scope"].split()) == set(scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")


def client_for(user) -> Client:
    """A client that answers a crash with a 500 response instead of raising it into the test."""
    client = Client(raise_request_exception=False)
    return login(client, user) if user is not None else client


def outcome(response) -> dict:
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome", body
    return body


def audit_mark() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def audited_patients_since(mark: int) -> set[int]:
    """Patients named by audit rows written after the mark (as patient_id or in a list's detail)."""
    found: set[int] = set()
    for patient_id, detail in AuditEvent.objects.filter(id__gt=mark).values_list("patient_id", "detail"):
        if patient_id:
            found.add(patient_id)
        found.update((detail or {}).get("patients", []))
    return found


# Third-party test data (other projects' published test vectors, NHSBSA's dm+d files) keeps its own
# licence, so it is not in the repository. Point EPR_TESTDATA at a folder holding it; by default the
# folder beside the clone that the project's development machines have.
TESTDATA = Path(os.environ.get("EPR_TESTDATA", Path(__file__).resolve().parents[2] / "shared" / "testdata"))


def third_party_testdata(relative: str, what: str) -> Path:
    """The path of a third-party test file or folder, or a skip that says what is missing and why."""
    path = TESTDATA / relative
    if not path.exists():
        pytest.skip(
            f"{what} ({relative}) is not on this machine: it is published under its own licence and kept "
            "out of the repository. Set EPR_TESTDATA to a folder that holds it to run this test."
        )
    return path


def require_tool(name: str, package: str) -> str:
    """The path of a Debian tool a test reads its output with. CI installs it (.ci/run), so there a
    missing tool fails the run; a developer without it skips just these tests, told what to install."""
    import os
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        message = f"{name} is missing: install Debian's {package}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
