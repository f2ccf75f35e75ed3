"""Sessions: a new key at login and again when the second factor is passed, and an absolute lifetime
beside the idle timeout."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from epr.accounts.middleware import LOGIN_AT_SESSION_KEY

PASSWORD = "correct-horse-battery-staple"


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def with_session(key: str) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client


def test_login_issues_a_new_session_key(nurse):
    client = Client()
    before = client.session  # a session that exists before the login (e.g. one fixed by an attacker)
    before["probe"] = "x"
    before.save()
    old_key = session_key(client)

    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert session_key(client) != old_key
    assert not SessionStore().exists(old_key)
    assert with_session(old_key).get(reverse("records:ward_list")).url.startswith(reverse("login"))


def test_passing_the_second_factor_issues_a_new_session_key(admin_user, patient):
    device = TOTPDevice.objects.create(user=admin_user, name="Authenticator", confirmed=True)
    client = Client()
    client.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    pre_otp_key = session_key(client)

    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post(reverse("second_factor"), {"token": code}).status_code == 302

    verified_key = session_key(client)
    assert verified_key != pre_otp_key
    assert client.get(reverse("records:patient_search")).status_code == 200
    # The pre-OTP cookie is dead: not verified, not even logged in.
    stale = with_session(pre_otp_key)
    assert stale.get(reverse("records:patient_search")).url.startswith(reverse("login"))
    assert stale.get(f"/fhir/Patient/{patient.pk}").status_code == 401
    assert not SessionStore().exists(pre_otp_key)


def logged_in_ago(client: Client, seconds: float) -> None:
    session = client.session
    session[LOGIN_AT_SESSION_KEY] = time.time() - seconds
    session.save()


def test_absolute_lifetime_defaults_to_a_twelve_hour_shift():
    assert settings.SESSION_ABSOLUTE_SECONDS == 12 * 60 * 60
    assert settings.SESSION_COOKIE_AGE == 30 * 60


def test_a_busy_session_still_ends_at_the_absolute_lifetime(client, nurse, admitted):
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    logged_in_ago(client, settings.SESSION_ABSOLUTE_SECONDS - 60)
    assert client.get(reverse("records:ward_list")).status_code == 200  # in constant use, never idle

    logged_in_ago(client, settings.SESSION_ABSOLUTE_SECONDS + 1)
    response = client.get(reverse("records:ward_list"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    page = client.get(response.url)
    assert b"reached its time limit" in page.content


@pytest.mark.parametrize("seconds", [12 * 60 * 60 + 1])
def test_the_api_refuses_an_expired_session(client, nurse, admitted, seconds):
    client.force_login(nurse)
    logged_in_ago(client, seconds)

    response = client.get(f"/fhir/Patient/{admitted.patient_id}")

    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_lifetime_is_configurable(client, nurse, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 60
    client.force_login(nurse)
    logged_in_ago(client, 61)

    assert client.get(reverse("records:ward_list")).url.startswith(reverse("login"))


def test_a_session_without_a_login_time_is_ended(client, nurse):
    client.force_login(nurse)
    session = client.session
    del session[LOGIN_AT_SESSION_KEY]
    session.save()

    assert client.get(reverse("records:ward_list")).url.startswith(reverse("login"))


def test_keepalive_answers_whether_the_session_is_alive(client, nurse):
    url = reverse("session_keepalive")
    assert client.post(url).status_code == 401
    client.force_login(nurse)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 204
    page = client.get(reverse("records:ward_list"))
    assert f'data-idle-seconds="{settings.SESSION_COOKIE_AGE}"'.encode() in page.content
