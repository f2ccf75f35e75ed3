"""A bearer token is not read from the database on every call (epr/accounts/tokens.py), yet a revoked
token stops working at once in the worker that revoked it and within EPR_TOKEN_CACHE_SECONDS in any
other; and a read's audit row is committed before its response is received."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken

from epr.accounts import tokens
from epr.accounts.services import api_client_create
from epr.audit.models import AuditEvent

SCOPES = ["system/Patient.read"]


def issue(client: Client) -> tuple[str, str]:
    """A new API client's bearer token, and its HTTP basic credentials (to revoke it)."""
    api_client, secret = api_client_create(name="Cache test", scopes=SCOPES)
    basic = base64.b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"], basic


def read(token: str, patient_id: int):
    return Client().get(f"/fhir/Patient/{patient_id}", HTTP_AUTHORIZATION=f"Bearer {token}")


def token_queries(token: str, patient_id: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert read(token, patient_id).status_code == 200
    return sum("oauth2_provider_accesstoken" in q["sql"] for q in queries)


def test_a_token_is_read_from_the_database_once_then_remembered(client, patient):
    token, _ = issue(client)
    assert token_queries(token, patient.pk) == 1
    assert token_queries(token, patient.pk) == 0


def test_a_token_revoked_in_this_worker_is_refused_at_once(client, patient):
    token, basic = issue(client)
    assert read(token, patient.pk).status_code == 200  # now remembered
    revoked = client.post("/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert revoked.status_code == 200
    assert read(token, patient.pk).status_code == 401


def test_a_token_revoked_in_another_worker_is_refused_within_the_stated_time(client, patient, settings):
    settings.EPR_TOKEN_CACHE_SECONDS = 1
    token, _ = issue(client)
    assert read(token, patient.pk).status_code == 200
    # Another worker revokes it: the row goes, and this worker hears nothing.
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM oauth2_provider_accesstoken WHERE token_checksum = %s", [tokens.checksum(token)]
        )
    assert read(token, patient.pk).status_code == 200  # still remembered here, for at most a second
    time.sleep(1.1)
    assert read(token, patient.pk).status_code == 401


def test_an_expired_token_is_refused_even_while_remembered(client, patient, settings):
    token, _ = issue(client)
    assert read(token, patient.pk).status_code == 200
    remembered = next(iter(tokens._rows.values()))[1]
    remembered.expires = remembered.expires.replace(year=2000)  # as if its hour had run out
    assert read(token, patient.pk).status_code == 401


def test_an_unknown_token_is_not_remembered(client, patient):
    assert read("not-a-token", patient.pk).status_code == 401
    assert tokens._rows == {}


@pytest.mark.django_db(transaction=True)
def test_a_reads_audit_row_is_committed_before_the_response_is_received(patient):
    api_client, _ = api_client_create(name="Audit test", scopes=SCOPES)
    token = AccessToken.objects.create(
        application=api_client.application,
        token="audit-test-token",
        scope=" ".join(SCOPES),
        expires=timezone.now() + timedelta(hours=1),
    )
    response = read(token.token, patient.pk)
    assert response.status_code == 200
    # Another connection, as an auditor's would be: the row is there, committed, as the response arrives.
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as other:
        rows = other.execute(
            "SELECT action, object_id FROM audit_auditevent WHERE patient_id = %s AND api_client <> ''",
            [patient.pk],
        ).fetchall()
    assert rows == [("view", str(patient.pk))]
    assert AuditEvent.objects.filter(patient_id=patient.pk).count() == 1
