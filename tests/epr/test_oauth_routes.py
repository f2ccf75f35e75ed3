"""Only `create_api_client` (or Django admin) creates OAuth clients: oauth2_provider's application
pages are not routed; the token, revocation and introspection endpoints are."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from oauth2_provider.models import Application

from epr.accounts.services import api_client_create


@pytest.mark.parametrize(
    "url",
    [
        "/o/applications/",
        "/o/applications/register/",
        "/o/applications/1/",
        "/o/applications/1/update/",
        "/o/authorize/",
        "/o/authorized_tokens/",
    ],
)
def test_application_management_pages_are_not_routed(client, nurse, url):
    client.force_login(nurse)

    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "Mine", "client_type": "confidential"}).status_code == 404
    assert not Application.objects.exists()


def test_client_credentials_token_and_revocation_still_work(db):
    api_client, secret = api_client_create(name="Lab feed", scopes=["system/Observation.write"])
    basic = base64.b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    auth = {"HTTP_AUTHORIZATION": f"Basic {basic}"}
    client = Client()

    token = client.post("/o/token/", {"grant_type": "client_credentials"}, **auth)
    assert token.status_code == 200, token.content
    access = token.json()["access_token"]

    assert client.post("/o/revoke_token/", {"token": access}, **auth).status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Bearer {access}").get("/fhir/Patient").status_code == 401
