"""An administrator who logged in with the password only and skipped the TOTP page gets nothing:
not pages, htmx fragments, exports, Django admin, the FHIR API (read, create, update) or OAuth
endpoints. Each surface is checked against a verified session, so the refusal is the second factor's."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from oauth2_provider.models import Application

from epr.accounts.services import api_client_create
from epr.audit.models import Action, AuditEvent
from records import services
from records.models import Patient, SubjectAccessStatus

PASSWORD = "correct-horse-battery-staple"
FHIR_JSON = "application/fhir+json"
NHS = "https://fhir.nhs.uk/Id/nhs-number"


@pytest.fixture
def admin(admin_user):
    # Staff status too, so Django admin would open for this user once verified.
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    TOTPDevice.objects.create(user=admin_user, name="Authenticator", confirmed=True)
    return admin_user


def password_only(user) -> Client:
    """Logged in through the login page with the password, the TOTP page never visited."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    return client


def verify(client: Client, user) -> None:
    device = TOTPDevice.objects.get(user=user)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post(reverse("second_factor"), {"token": code}).status_code == 302


def assert_refused_as_fhir(response) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "login"
    assert "second factor" in body["issue"][0]["diagnostics"]


def assert_sent_to_second_factor(response) -> None:
    assert response.status_code == 302, response.status_code
    assert response.url.startswith(reverse("second_factor"))


def patient_body(nhs_number: str, family: str) -> str:
    return json.dumps(
        {
            "resourceType": "Patient",
            "identifier": [{"system": NHS, "value": nhs_number}],
            "name": [{"use": "official", "family": family, "given": ["Zofia"]}],
            "gender": "female",
            "birthDate": "1956-03-14",
        }
    )


def test_fhir_read_is_refused_until_the_second_factor(admin, patient):
    client = password_only(admin)
    views_before = AuditEvent.objects.filter(action=Action.VIEW, patient_id=patient.pk).count()

    assert_refused_as_fhir(client.get(f"/fhir/Patient/{patient.pk}", HTTP_ACCEPT=FHIR_JSON))
    assert_refused_as_fhir(client.get("/fhir/Patient", {"family": "Smith"}))
    assert AuditEvent.objects.filter(action=Action.VIEW, patient_id=patient.pk).count() == views_before

    verify(client, admin)
    assert client.get(f"/fhir/Patient/{patient.pk}", HTTP_ACCEPT=FHIR_JSON).status_code == 200


def test_fhir_create_is_refused_and_nothing_is_made(admin):
    client = password_only(admin)
    count = Patient.objects.count()

    response = client.post("/fhir/Patient", patient_body("9990001170", "Nowak"), content_type=FHIR_JSON)

    assert_refused_as_fhir(response)
    assert Patient.objects.count() == count


def test_fhir_update_is_refused_and_nothing_changes(admin, patient):
    client = password_only(admin)
    version = patient.version

    response = client.put(
        f"/fhir/Patient/{patient.pk}", patient_body(patient.nhs_number, "Forged"), content_type=FHIR_JSON
    )

    assert_refused_as_fhir(response)
    patient.refresh_from_db()
    assert (patient.family_name, patient.version) == ("Smith", version)


def test_fhir_transaction_bundle_is_refused(admin):
    client = password_only(admin)
    count = Patient.objects.count()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": json.loads(patient_body("9990001170", "Nowak")),
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }

    assert_refused_as_fhir(client.post("/fhir", json.dumps(bundle), content_type=FHIR_JSON))
    assert Patient.objects.count() == count


def test_pages_are_refused_and_a_post_changes_nothing(admin, patient):
    client = password_only(admin)

    assert_sent_to_second_factor(client.get(reverse("records:patient_search")))
    assert_sent_to_second_factor(client.get(reverse("records:patient_demographics", args=[patient.pk])))
    response = client.post(reverse("records:patient_archive", args=[patient.pk]), {"reason": "Test record"})
    assert_sent_to_second_factor(response)
    patient.refresh_from_db()
    assert patient.status != "archived"


@pytest.fixture
def ready_export(admin, admitted, django_capture_on_commit_callbacks):
    sar = services.subject_access_create(
        logged_by=admin, patient=admitted.patient, received_on=timezone.localdate(), requester_kind="patient"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_access_queue_generation(requested_by=admin, sar=sar)
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.READY, sar.error_message
    return sar


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_htmx_fragment_is_refused_and_htmx_sent_to_the_second_factor(media, admin, ready_export):
    client = password_only(admin)
    url = reverse("records:sar_progress", args=[ready_export.patient_id, ready_export.pk])
    page = (
        f"http://testserver{reverse('records:sar_detail', args=[ready_export.patient_id, ready_export.pk])}"
    )

    response = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=page)

    # Not a redirect: htmx would follow it inside the request and swap the TOTP page into the fragment.
    assert response.status_code == 403
    assert response["HX-Redirect"].startswith(reverse("second_factor") + "?next=%2Fpatients%2F")
    verify(client, admin)
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200


def test_pdf_export_is_refused_and_not_exported(media, admin, ready_export):
    client = password_only(admin)
    url = reverse("records:sar_download", args=[ready_export.patient_id, ready_export.pk, "pdf"])
    exports = AuditEvent.objects.filter(action=Action.EXPORT).count()

    assert_sent_to_second_factor(client.get(url))
    assert AuditEvent.objects.filter(action=Action.EXPORT).count() == exports

    verify(client, admin)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_django_admin_is_refused(admin):
    client = password_only(admin)

    assert_sent_to_second_factor(client.get("/django-admin/"))
    assert_sent_to_second_factor(client.get("/django-admin/accounts/user/"))

    verify(client, admin)
    assert client.get("/django-admin/").status_code == 200


def test_oauth_endpoints_refuse_the_half_verified_session(admin):
    client = password_only(admin)
    count = api_client_count()

    for url in ("/o/applications/", "/o/applications/register/", "/o/authorize/", "/o/token/"):
        response = client.post(url, {"name": "Mine", "grant_type": "client_credentials"})
        assert response.status_code == 403, url
        assert response.json()["error"] == "access_denied"
    assert api_client_count() == count


def api_client_count() -> int:

    return Application.objects.count()


def test_bearer_token_clients_are_unaffected(patient):
    api_client, secret = api_client_create(name="PAS feed", scopes=["system/Patient.read"])
    basic = base64.b64encode(f"{api_client.application.client_id}:{secret}".encode()).decode()
    token = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert token.status_code == 200, token.content
    system = Client(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")

    assert system.get(f"/fhir/Patient/{patient.pk}").status_code == 200


def test_other_staff_need_no_second_factor(nurse, admitted):
    client = password_only(nurse)

    assert client.get(f"/fhir/Patient/{admitted.patient_id}").status_code == 200
    assert client.get(reverse("records:ward_list")).status_code == 200
