"""Login: lockout after repeated failures, TOTP for administrators, roles, API client command."""

import io

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from epr.accounts.models import ApiClient, User
from epr.accounts.roles import Role
from epr.audit.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery-staple"


def test_every_role_has_a_group_with_its_permissions(db):
    doctor_perms = set(Group.objects.get(name="role:doctor").permissions.values_list("codename", flat=True))
    assert "change_patient" in doctor_perms and "merge_patient" not in doctor_perms
    assert Group.objects.filter(name__startswith="role:").count() == len(Role.values)


def test_account_locks_after_repeated_failures(client, nurse):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert b"Your account is locked" in response.content
    assert "_auth_user_id" not in client.session


def test_successful_login_lands_on_the_role_page(client, nurse):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("records:ward_list")


def test_administrators_must_pass_a_second_factor(client, admin_user):
    client.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    response = client.get(reverse("records:patient_search"))
    assert response.status_code == 302 and response.url.startswith(reverse("second_factor"))

    page = client.get(response.url)
    assert b"Add this key" in page.content
    device = TOTPDevice.objects.get(user=admin_user)
    wrong = client.post(response.url, {"token": "000000"})
    assert b"The code is wrong" in wrong.content
    device.refresh_from_db()
    device.throttle_reset()  # a failure throttles the next try; a real user waits a second
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post(response.url, {"token": code}).status_code == 302
    assert client.get(reverse("records:patient_search")).status_code == 200


def test_sessions_expire_after_inactivity_and_cookies_are_safe():
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 30 * 60
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_weak_passwords_are_refused(db):

    with pytest.raises(ValidationError):
        validate_password("password123", UserFactory.build())


def test_create_api_client_prints_credentials(db):
    out = io.StringIO()
    call_command("create_api_client", "Lab feed", "--scope", "system/*.read system/*.write", stdout=out)
    text = out.getvalue()
    assert "client_id=" in text and "client_secret=" in text
    assert ApiClient.objects.get(application__name="Lab feed").scopes == ["system/*.read", "system/*.write"]


def test_create_api_client_refuses_unknown_scopes(db):

    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_client", "Bad", "--scope", "everything")


def test_forwarded_for_is_believed_only_from_trusted_proxies(client, nurse, settings, admitted):

    client.force_login(nurse)
    url = f"/patients/{admitted.patient_id}/"
    client.get(url, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert AuditEvent.objects.filter(action="view").latest("id").client_address == "10.9.9.9"
    settings.EPR_TRUSTED_PROXY_COUNT = 1
    client.get(url, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.168.4.20")
    assert AuditEvent.objects.filter(action="view").latest("id").client_address == "192.168.4.20"


def test_role_is_changed_only_through_the_service_that_keeps_groups_in_step(db, admin_user):

    model_admin = site._registry[User]
    assert "role" in model_admin.readonly_fields
    action = next(a for a in model_admin.actions if a.__name__ == "set_role_pharmacist")
    action(model_admin, None, User.objects.filter(pk=admin_user.pk))
    admin_user.refresh_from_db()
    assert admin_user.role == "pharmacist"
    assert list(admin_user.groups.filter(name__startswith="role:").values_list("name", flat=True)) == [
        "role:pharmacist"
    ]
