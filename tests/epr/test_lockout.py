"""Lockout per username (one account guessed from many addresses) and per client address (one address
spraying many usernames), the address being the client the trusted proxies saw."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django.urls import reverse

PASSWORD = "correct-horse-battery-staple"
LOCKED = b"Your account is locked"


def attempt(username: str, password: str, **meta: str):
    return Client().post(reverse("login"), {"username": username, "password": password}, **meta)


def logged_in(response) -> bool:
    return response.status_code == 302 and LOCKED not in response.content


def test_one_username_guessed_from_many_addresses_is_locked(nurse):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("alice", "wrong", REMOTE_ADDR=f"10.0.1.{n + 1}")

    response = attempt("alice", PASSWORD, REMOTE_ADDR="10.0.2.1")

    assert LOCKED in response.content


def test_the_username_lock_leaves_other_accounts_alone(nurse, colleague):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("alice", "wrong", REMOTE_ADDR=f"10.0.1.{n + 1}")

    assert logged_in(attempt("bob", PASSWORD, REMOTE_ADDR="10.0.1.1"))


def test_one_address_spraying_many_usernames_is_locked(nurse):
    for n in range(settings.EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT):
        attempt(f"user{n}", "Winter2026!", REMOTE_ADDR="10.0.0.9")

    assert LOCKED in attempt("alice", PASSWORD, REMOTE_ADDR="10.0.0.9").content
    assert logged_in(attempt("alice", PASSWORD, REMOTE_ADDR="10.0.0.10"))


def test_fewer_failures_from_an_address_than_its_limit_do_not_lock_it(nurse):
    for n in range(settings.EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT - 1):
        attempt(f"user{n}", "Winter2026!", REMOTE_ADDR="10.0.0.9")

    assert logged_in(attempt("alice", PASSWORD, REMOTE_ADDR="10.0.0.9"))


def test_logging_in_to_ones_own_account_does_not_clear_a_spray(nurse, colleague):
    limit = settings.EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT
    for n in range(limit - 1):
        attempt(f"user{n}", "Winter2026!", REMOTE_ADDR="10.0.0.9")
    assert logged_in(attempt("bob", PASSWORD, REMOTE_ADDR="10.0.0.9"))
    attempt("user-last", "Winter2026!", REMOTE_ADDR="10.0.0.9")

    assert LOCKED in attempt("alice", PASSWORD, REMOTE_ADDR="10.0.0.9").content


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked(nurse, settings):
    settings.EPR_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for n in range(settings.EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT):
        attempt(f"user{n}", "Winter2026!", HTTP_X_FORWARDED_FOR="192.168.4.20", **proxy)

    assert LOCKED in attempt("alice", PASSWORD, HTTP_X_FORWARDED_FOR="192.168.4.20", **proxy).content
    # Everyone else behind the same load balancer still logs in.
    assert logged_in(attempt("alice", PASSWORD, HTTP_X_FORWARDED_FOR="192.168.4.21", **proxy))


def test_a_forged_forwarded_for_does_not_escape_the_address_lock(nurse):
    # No trusted proxies: X-Forwarded-For is the client's own writing and is ignored.
    for n in range(settings.EPR_LOCKOUT_ADDRESS_FAILURE_LIMIT):
        attempt(f"user{n}", "Winter2026!", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"172.16.0.{n}")

    response = attempt("alice", PASSWORD, REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="172.16.9.9")
    assert LOCKED in response.content
