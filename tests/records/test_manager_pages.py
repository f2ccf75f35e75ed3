"""Managers' first look: the bed state of every ward, the break-glass review with its outcome, and the
access log that names what was looked at, a page at a time, filtered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from epr.audit.selectors import describe
from records import services
from records.errors import RecordError
from records.models import BreakGlassAccess
from records.services.access import break_glass_review
from tests.factories import BedFactory, PatientFactory, SiteFactory, WardFactory
from tests.support import login

# --- Bed state ---


def _admit(clerk, doctor, team, ward, bed, **kwargs):
    return services.encounter_admit(
        admitted_by=clerk,
        patient=PatientFactory(),
        ward=ward,
        bed=bed,
        consultant=doctor,
        team=team,
        specialty="300",
        admission_method="21",
        **kwargs,
    )


def test_bed_state_counts_every_ward_grouped_by_site(
    client, manager, clerk, doctor, team, ward, bed, second_bed
):
    _admit(clerk, doctor, team, ward, bed)  # today
    earlier = _admit(clerk, doctor, team, ward, second_bed, admitted_at=timezone.now() - timedelta(days=3))
    services.encounter_discharge(
        discharged_by=clerk, encounter=earlier, destination="19", expected_version=earlier.version
    )
    other_site = SiteFactory(name="Community Hospital", code="RXX02")
    WardFactory(site=other_site, name="Rehab", code="RH1")

    response = login(client, manager).get(reverse("records:bed_state"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Community Hospital" in html and ward.site.name in html
    (row,) = next(s for s in response.context["sites"] if s.site == ward.site).wards
    assert (row.beds, row.free, row.occupied_beds, row.admissions_today, row.discharges_today) == (
        2,
        1,
        1,
        1,
        1,
    )


def test_bed_state_keeps_queries_flat(client, manager, ward, bed, django_assert_max_num_queries):
    login(client, manager)
    with django_assert_max_num_queries(8):
        client.get(reverse("records:bed_state"))
    for n in range(6):
        other = WardFactory(code=f"X{n}", name=f"Extra {n}")
        BedFactory(bay__ward=other, label="1")
    with django_assert_max_num_queries(8):
        assert client.get(reverse("records:bed_state")).status_code == 200


def test_manager_lands_on_the_bed_state_with_a_menu_item(client, manager, nurse):
    response = login(client, manager).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("records:bed_state")
    assert reverse("records:bed_state") in client.get(reverse("records:bed_state")).content.decode()
    login(client, nurse)
    assert client.get(reverse("home"))["Location"] == reverse("records:ward_list")
    assert 'href="/bed-state/"' not in client.get(reverse("records:ward_list")).content.decode()


# --- Break-glass review ---


@pytest.fixture
def glass(outsider, admitted):
    return services.break_glass_start(
        user=outsider, patient=admitted.patient, reason="Covering the ward tonight"
    )


def test_review_list_names_the_patient_and_links_their_access_log(client, manager, glass):
    response = login(client, manager).get(reverse("records:break_glass_review"))
    html = response.content.decode()
    assert "SMITH, John" in html and "999 000 0018" in html
    assert reverse("records:patient_access_log", args=[glass.patient_id]) in html
    assert reverse("records:break_glass_review_use", args=[glass.pk]) in html
    # Showing names is a read of each patient: a list row in that patient's own log.
    listed = AuditEvent.objects.filter(action=Action.LIST, username="mona")
    assert [(e.patient_id, e.detail["list"]) for e in listed] == [(glass.patient_id, "break-glass review")]


def test_manager_records_an_appropriate_use(client, manager, glass):
    login(client, manager)
    url = reverse("records:break_glass_review_use", args=[glass.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"outcome": "appropriate", "note": ""})
    assert response.status_code == 302
    glass.refresh_from_db()
    assert (glass.review_outcome, glass.reviewed_by, glass.reviewed_at is not None) == (
        "appropriate",
        manager,
        True,
    )
    assert AuditEvent.objects.filter(
        action=Action.UPDATE, object_type="records.BreakGlassAccess", object_id=str(glass.pk)
    ).exists()
    assert "Appropriate" in client.get(reverse("records:break_glass_review")).content.decode()


def test_inappropriate_needs_a_note_for_the_caldicott_guardian(client, manager, glass):
    login(client, manager)
    url = reverse("records:break_glass_review_use", args=[glass.pk])
    response = client.post(url, {"outcome": "inappropriate", "note": "  "})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter why the access was inappropriate, for the Caldicott guardian" in html
    assert "<title>Error: " in html
    glass.refresh_from_db()
    assert glass.reviewed_at is None and glass.review_outcome == ""
    client.post(url, {"outcome": "inappropriate", "note": "Not on shift; patient is a neighbour"})
    glass.refresh_from_db()
    assert glass.review_outcome == "inappropriate" and glass.review_note.startswith("Not on shift")


def test_review_form_submitted_empty_says_what_to_select(client, manager, glass):
    response = login(client, manager).post(
        reverse("records:break_glass_review_use", args=[glass.pk]), {"csrfmiddlewaretoken": "x"}
    )
    html = response.content.decode()
    assert "Select whether the access was appropriate" in html
    assert 'href="#id_outcome_0"' in html and 'id="id_outcome_0"' in html


def test_a_use_is_reviewed_once_and_never_by_its_user(manager, outsider, glass):
    with pytest.raises(RecordError, match="own break-glass"):
        break_glass_review(reviewed_by=outsider, use=glass, outcome="appropriate")
    with pytest.raises(RecordError, match="Select whether"):
        break_glass_review(reviewed_by=manager, use=glass, outcome="maybe")
    break_glass_review(reviewed_by=manager, use=glass, outcome="appropriate")
    with pytest.raises(RecordError, match="already reviewed"):
        break_glass_review(reviewed_by=manager, use=glass, outcome="inappropriate", note="Second thoughts")
    assert BreakGlassAccess.objects.get(pk=glass.pk).review_outcome == "appropriate"


@pytest.mark.parametrize(
    ("who", "status"), [("nurse", 403), ("clerk", 403), ("manager", 200), ("admin_user", 200)]
)
def test_who_may_review(client, request, glass, who, status):
    user = request.getfixturevalue(who)
    assert (
        login(client, user).get(reverse("records:break_glass_review_use", args=[glass.pk])).status_code
        == status
    )


def test_review_of_a_missing_use_is_a_404(client, manager):
    assert (
        login(client, manager).get(reverse("records:break_glass_review_use", args=[424242])).status_code
        == 404
    )


def test_review_list_keeps_queries_flat(client, manager, outsider, admitted, django_assert_max_num_queries):
    login(client, manager)
    with django_assert_max_num_queries(12):
        client.get(reverse("records:break_glass_review"))
    for _ in range(10):
        patient = PatientFactory()
        services.break_glass_start(user=outsider, patient=patient, reason="Covering the ward tonight")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("records:break_glass_review")).status_code == 200


# --- Access log ---


def test_access_log_names_the_page_that_was_viewed(client, nurse, manager, admitted):
    login(client, nurse).get(reverse("records:observation_chart", args=[admitted.patient_id]))
    login(client, manager)
    response = client.get(reverse("records:patient_access_log", args=[admitted.patient_id]))
    what = [row.description for row in response.context["log"].rows]
    assert "NEWS2 chart" in what
    assert "NEWS2 chart" in response.content.decode()


def test_descriptions_of_exports_and_fhir_calls(patient):
    def event(**fields):
        return AuditEvent(patient_id=patient.pk, **fields)

    assert (
        describe(event(action="export", channel="export", object_type="records.CarePlan")) == "Care plan PDF"
    )
    assert (
        describe(event(action="search", channel="api", detail={"criteria": ["patient"], "observations": []}))
        == "FHIR Observation search"
    )
    assert describe(event(action="view", channel="api", object_type="records.Patient")) == "FHIR Patient read"
    assert (
        describe(
            event(
                action="export",
                channel="export",
                object_type="records.SubjectAccessRequest",
                detail={"download": "pdf"},
            )
        )
        == "Subject access request export (PDF)"
    )
    assert describe(event(action="view", channel="page", detail={"path": "/no/such/page/"})) == "Record"


def _events(patient, n, **fields):
    for _ in range(n):
        AuditEvent.objects.create(
            patient_id=patient.pk,
            action=fields.get("action", "view"),
            channel="page",
            username=fields.get("username", "alice"),
            role="nurse",
        )


def test_access_log_pages_fifty_at_a_time(client, manager, patient):
    _events(patient, 60)
    login(client, manager)
    url = reverse("records:patient_access_log", args=[patient.pk])
    first = client.get(url)
    assert len(first.context["log"].rows) == 50
    assert "?page=2" in first.content.decode()
    second = client.get(url, {"page": "2"})
    assert len(second.context["log"].rows) >= 10  # 60, plus the manager's own reads
    assert client.get(url, {"page": "nonsense"}).status_code == 200
    assert client.get(url, {"page": "99999"}).status_code == 200


def test_access_log_filters_by_user_action_and_date(client, manager, patient):
    _events(patient, 3, username="alice")
    _events(patient, 2, username="bob", action="update")
    login(client, manager)
    url = reverse("records:patient_access_log", args=[patient.pk])
    by_user = client.get(url, {"user": "bob"}).context["log"].rows
    assert {r.event.username for r in by_user} == {"bob"} and len(by_user) == 2
    by_action = client.get(url, {"action": "update"}).context["log"].rows
    assert {r.event.action for r in by_action} == {"update"}
    today = timezone.localdate()
    assert len(client.get(url, {"on": today.isoformat()}).context["log"].rows) >= 5
    assert client.get(url, {"on": (today - timedelta(days=1)).isoformat()}).context["log"].rows == []
    # A filter that cannot be used is said, not a 500; paging links keep the filters.
    bad = client.get(url, {"on": "31-02-2026"})
    assert bad.status_code == 200 and "Date must be a real date" in bad.content.decode()
    _events(patient, 55, username="bob")
    assert "user=bob&amp;page=2" in client.get(url, {"user": "bob"}).content.decode()


def test_access_log_keeps_queries_flat(client, manager, patient, django_assert_max_num_queries):
    login(client, manager)
    url = reverse("records:patient_access_log", args=[patient.pk])
    with django_assert_max_num_queries(15):
        client.get(url)
    _events(patient, 120)
    for name in ("u1", "u2", "u3"):
        _events(patient, 2, username=name)
    with django_assert_max_num_queries(15):
        assert client.get(url, {"page": "2", "user": "u1"}).status_code == 200
