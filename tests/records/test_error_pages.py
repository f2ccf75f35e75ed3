"""NHS.UK error pages: a 404 never lists URL patterns (even with DEBUG on), 403 and 500 pages offer a
way back, and form fields say which field is at fault."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.views import defaults

from records.forms.encounters import DischargeForm
from records.forms.observations import ObservationForm
from records.forms.patients import OtherRecordForm, ReasonForm
from records.views import wards as views
from tests.support import login

# A browser always posts the CSRF token, so "submitted empty" is never an empty POST (which the views
# treat as no submission).
BLANK = {"csrfmiddlewaretoken": "x"}
WAY_BACK = ("data-epr-history-back", 'data-testid="home-link"')


def _assert_way_back(html: str) -> None:
    assert "Go back" in html and "Go to the home page" in html
    for marker in WAY_BACK:
        assert marker in html
    assert 'class="nhsuk-header' in html


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_address_shows_the_nhs_404_page_without_url_patterns(client, nurse, debug):
    login(client, nurse)
    with override_settings(DEBUG=debug):
        response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    _assert_way_back(html)
    # Django's technical 404 lists the URLconf: none of it may show.
    for leak in ("URLconf", "patients/&lt;int:patient_id&gt;", "patients/<int:patient_id>", "DEBUG = True"):
        assert leak not in html


@pytest.mark.parametrize("debug", [True, False])
def test_missing_record_raised_by_a_view_shows_the_nhs_404_page(client, nurse, debug):
    login(client, nurse)
    with override_settings(DEBUG=debug):
        response = client.get(reverse("records:patient_detail", args=[987654321]))
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert "No such patient" not in html and "Traceback" not in html
    _assert_way_back(html)


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_fhir_address_is_an_operation_outcome(client, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/fhir/NoSuchResource/1/2/3")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    assert json.loads(response.content)["resourceType"] == "OperationOutcome"


def test_missing_trailing_slash_still_redirects_with_debug_on(client, nurse):
    login(client, nurse)
    with override_settings(DEBUG=True):
        response = client.get("/patients")
    assert response.status_code == 301 and response["Location"] == "/patients/"


def test_refusal_shows_the_reason_and_a_way_back(client, nurse, other_ward):
    login(client, nurse)
    response = client.get(reverse("records:ward_list_for", args=[other_ward.pk]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot do this" in html and "You do not work on that ward." in html
    _assert_way_back(html)


def test_refusal_without_a_reason_says_so_plainly(client, manager):
    response = login(client, manager).get(reverse("records:patient_register"))
    assert response.status_code == 403
    assert "Your role does not allow this page or action." in response.content.decode()


def test_server_error_page_needs_no_database_or_request_context():
    # No django_db mark: any query would fail the test. server_error renders without a request context.
    response = defaults.server_error(RequestFactory().get("/patients/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html
    assert 'href="/"' in html and "Go back" in html


def test_uncaught_error_renders_the_500_page(client, nurse, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.ward_selectors, "ward_list", broken)
    client.raise_request_exception = False
    response = login(client, nurse).get(reverse("records:ward_list"))
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.content.decode()


def test_expired_form_token_is_an_nhs_page(nurse):

    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse)
    response = client.post(reverse("records:patient_search"), {})
    html = response.content.decode()
    assert response.status_code == 403
    assert "The form had expired" in html and "CSRF verification failed" not in html


def test_error_page_title_and_bad_request_page(client, nurse):
    response = login(client, nurse).get(reverse("records:patient_search"), {"name": "a\x00b"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "NUL character" in html
    _assert_way_back(html)


# Field-specific messages, set once in NHSFormMixin.


def test_required_messages_name_the_field():
    errors = ReasonForm(data={}).errors
    assert errors["reason"] == ["Enter the reason"]
    other = OtherRecordForm(data={}).errors
    assert other["other"] == ["Enter the hospital number of the other record"]


def test_a_field_keeps_the_message_it_set_itself():
    errors = DischargeForm(data={"version": "1"}).errors
    assert errors["destination"] == ["Select the discharge destination"]


def test_hidden_and_numeric_fields_get_messages_a_user_can_act_on():
    errors = DischargeForm(data={"version": "x"}).errors
    assert errors["version"] == ["The page was out of date. Reload it and try again."]

    obs = ObservationForm(data={"pulse": "fast"})
    obs.is_valid()
    assert obs.errors["pulse"] == ["Pulse (beats/min) must be a whole number"]


def test_no_form_in_records_says_this_field_is_required(client, nurse, admitted):
    """Every form page submitted empty names its fields (the generic message appears nowhere)."""
    login(client, nurse)
    pages = [
        reverse("records:observations_record", args=[admitted.patient_id]),
        reverse("records:allergy_new", args=[admitted.patient_id]),
        reverse("records:careplan_new", args=[admitted.patient_id]),
        reverse("records:patient_discharge", args=[admitted.patient_id]),
        reverse("records:patient_transfer", args=[admitted.patient_id]),
    ]
    for url in pages:
        response = client.post(url, BLANK)
        html = response.content.decode()
        assert "This field is required" not in html, url
        assert "Enter a valid" not in html, url


def test_error_title_prefix_and_summary_focus_module(client, nurse, admitted):
    login(client, nurse)
    response = client.post(reverse("records:careplan_new", args=[admitted.patient_id]), BLANK)
    html = response.content.decode()
    assert "<title>Error: " in html
    assert 'data-module="nhsuk-error-summary"' in html
    assert "js/epr.js" in html
    ok = client.get(reverse("records:careplan_new", args=[admitted.patient_id])).content.decode()
    assert "<title>Error: " not in ok


def test_described_by_points_at_ids_that_exist(client, nurse, admitted):

    login(client, nurse)
    response = client.post(reverse("records:careplan_new", args=[admitted.patient_id]), BLANK)
    html = response.content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = re.findall(r'<(?:input|select|textarea)[^>]*aria-describedby="([^"]+)"', html)
    assert described
    for value in described:
        for target in value.split():
            assert target in ids, target
