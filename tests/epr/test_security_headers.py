"""Response headers (issue 7, items 6 and 11): nothing holding patient data is cached by a browser or
proxy (`Cache-Control: no-store`), and every response carries a Content-Security-Policy without
inline scripts or styles and a Permissions-Policy. Checked at each surface where data is served."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from epr.middleware import SecurityHeadersMiddleware

pytestmark = pytest.mark.django_db


def _assert_never_cached(response) -> None:
    assert response["Cache-Control"] == "no-store", response.get("Cache-Control")
    assert response["Pragma"] == "no-cache"


def _assert_policies(response) -> None:
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in response["Permissions-Policy"]


def test_login_page_has_the_policies(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    _assert_policies(response)


@pytest.mark.parametrize(
    "name",
    ["patient_detail", "patient_demographics", "observation_chart", "observations_record", "careplan_list"],
)
def test_patient_pages_are_never_cached(client, nurse, admitted, name):
    client.force_login(nurse)
    response = client.get(reverse(f"records:{name}", args=[admitted.patient_id]))
    assert response.status_code == 200
    _assert_never_cached(response)
    _assert_policies(response)


def test_ward_list_search_and_alerts_are_never_cached(client, nurse, clerk, admitted):
    client.force_login(nurse)
    for url in (reverse("records:ward_list"), reverse("records:alert_list")):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_never_cached(response)
    clerk_client = Client()
    clerk_client.force_login(clerk)
    response = clerk_client.get(reverse("records:patient_search"), {"identifier": "9990000018"})
    assert response.status_code == 200
    _assert_never_cached(response)


def test_htmx_fragment_and_redirects_of_a_signed_in_user_are_never_cached(client, clerk, ward, bed):
    client.force_login(clerk)
    response = client.get("/beds/free/", {"ward": ward.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    _assert_never_cached(response)


def test_every_fhir_response_is_never_cached(client, nurse, admitted):
    # Refused (no credentials), read with a session, a missing resource, and the capability statement.
    _assert_never_cached(Client().get(f"/fhir/Patient/{admitted.patient_id}"))
    client.force_login(nurse)
    read = client.get(f"/fhir/Patient/{admitted.patient_id}")
    assert read.status_code == 200
    _assert_never_cached(read)
    _assert_policies(read)
    _assert_never_cached(client.get("/fhir/Patient/999999999"))
    _assert_never_cached(client.get("/fhir/Observation", {"patient": admitted.patient_id}))
    _assert_never_cached(Client().get("/fhir/metadata"))


def test_oauth_token_endpoint_is_never_cached():
    response = Client().post("/o/token/", {"grant_type": "client_credentials"})
    assert response.status_code in (400, 401)
    _assert_never_cached(response)


def test_a_view_cannot_loosen_no_store_for_a_signed_in_user(nurse):
    # The rule is the middleware's, not each view's: a view asking for caching is overridden.
    def view(request):
        response = HttpResponse("patient data")
        response["Cache-Control"] = "max-age=3600, public"
        response["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
        return response

    request = RequestFactory().get("/patients/1/")
    request.user = nurse
    response = SecurityHeadersMiddleware(view)(request)
    _assert_never_cached(response)
    assert "Expires" not in response


def test_static_files_stay_cacheable(nurse):
    def view(request):
        response = HttpResponse("body{}", content_type="text/css")
        response["Cache-Control"] = "max-age=31536000, public, immutable"
        return response

    for path in ("/static/css/epr.css", "/assets/images/favicon.svg"):
        request = RequestFactory().get(path)
        request.user = nurse
        response = SecurityHeadersMiddleware(view)(request)
        assert response["Cache-Control"] == "max-age=31536000, public, immutable"
    anonymous = RequestFactory().get("/accounts/login/")
    anonymous.user = AnonymousUser()
    assert "Cache-Control" not in SecurityHeadersMiddleware(lambda r: HttpResponse())(anonymous)
