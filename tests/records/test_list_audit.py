"""Issue 7 items 5 and 14: every patient a list or search showed has a row in their own "who accessed
this record" (and so in their subject-access export), and a refused alert answer is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from epr.audit.models import Action, AuditEvent
from records import services
from records.fhir import patients as fhir
from records.models import AlertStatus, ClinicalAlert
from records.selectors import patients as selectors
from records.selectors.subject_access import collect_export
from tests.factories import PatientFactory, UserFactory
from tests.records.support import record, respond
from tests.support import login, token_client
from tests.vitals import NINE, RED_SCORE


def rows_for(patient_id: int, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(patient_id=patient_id, **filters).order_by("id"))


def access_log_whats(client: Client, manager, patient_id: int) -> list[str]:
    response = login(client, manager).get(reverse("records:patient_access_log", args=[patient_id]))
    assert response.status_code == 200
    return [row.description for row in response.context["log"].rows]


@pytest.fixture
def neighbour(admitted, second_bed, ward, clerk):
    """A second patient on Ward 7, in bed 2, under the same team."""
    patient = PatientFactory(family_name="Jones", given_names="Mary")
    services.encounter_admit(
        admitted_by=clerk,
        patient=patient,
        ward=ward,
        bed=second_bed,
        consultant=admitted.consultant,
        team=admitted.team,
        specialty="300",
        admission_method="21",
    )
    return patient


@pytest.fixture
def elsewhere(other_bed, other_ward, clerk, outsider):
    """A patient on Ward 9, under a team of its own: on no list of Ward 7's."""

    consultant = UserFactory(username="drelse", role="doctor")
    team = services.team_create(name="Elsewhere firm", specialty="300", consultant=consultant)
    patient = PatientFactory(family_name="Else", given_names="Where")
    services.encounter_admit(
        admitted_by=clerk,
        patient=patient,
        ward=other_ward,
        bed=other_bed,
        consultant=consultant,
        team=team,
        specialty="300",
        admission_method="21",
    )
    return patient


# Page lists ------------------------------------------------------------------------------------------


def test_the_ward_list_leaves_a_row_in_each_shown_patients_log(
    client, nurse, manager, admitted, neighbour, elsewhere
):
    login(client, nurse).get(reverse("records:ward_list"))

    for patient_id in (admitted.patient_id, neighbour.pk):
        listed = rows_for(patient_id, action=Action.LIST, username="alice")
        assert [(e.detail["list"], e.channel) for e in listed] == [("ward W7", "page")]
    assert rows_for(elsewhere.pk, username="alice") == []
    assert "Ward list (W7)" in access_log_whats(client, manager, admitted.patient_id)
    # The page itself says it too, not only the context.
    page = client.get(reverse("records:patient_access_log", args=[neighbour.pk])).content.decode()
    assert "Ward list (W7)" in page


def test_my_patients_leaves_a_row_in_each_shown_patients_log(
    client, doctor, manager, admitted, neighbour, elsewhere
):
    login(client, doctor).get(reverse("records:my_patients"))

    for patient_id in (admitted.patient_id, neighbour.pk):
        assert [e.detail["list"] for e in rows_for(patient_id, username="drdee")] == ["my patients"]
    assert rows_for(elsewhere.pk, username="drdee") == []
    assert "My patients list" in access_log_whats(client, manager, neighbour.pk)


def test_the_search_page_leaves_a_row_in_each_found_patients_log(client, clerk, manager, patient):
    found = [PatientFactory(family_name="Zoë-Ann Brown"), PatientFactory(family_name="Zoe Brown")]
    missed = PatientFactory(family_name="Green")

    login(client, clerk).get(reverse("records:patient_search"), {"name": "zoe"})

    for p in found:
        searched = rows_for(p.pk, username="clara")
        assert [(e.action, e.detail["list"], e.detail["criteria"]) for e in searched] == [
            (Action.SEARCH, "patient search", ["name"])
        ]
    assert rows_for(missed.pk) == [] and rows_for(patient.pk) == []
    assert "Patient search" in access_log_whats(client, manager, found[0].pk)


def test_the_alerts_page_leaves_a_row_in_each_shown_patients_log(
    client, nurse, colleague, admitted, neighbour, elsewhere, outsider
):
    record(admitted.patient, colleague, RED_SCORE)
    record(elsewhere, outsider, RED_SCORE)  # Ward 9's alert: not on Alice's page

    login(client, nurse).get(reverse("records:alert_list"))

    assert [e.detail["list"] for e in rows_for(admitted.patient_id, action=Action.LIST)] == ["alerts"]
    assert rows_for(neighbour.pk, action=Action.LIST) == []  # no alert, not on the page
    assert rows_for(elsewhere.pk, action=Action.LIST, username="alice") == []


def test_the_break_glass_review_leaves_a_row_in_each_listed_patients_log(
    client, manager, outsider, admitted, neighbour
):
    services.break_glass_start(user=outsider, patient=admitted.patient, reason="Covering the ward tonight")

    login(client, manager).get(reverse("records:break_glass_review"))

    listed = rows_for(admitted.patient_id, action=Action.LIST, username="mona")
    assert [e.detail["list"] for e in listed] == ["break-glass review"]
    assert rows_for(neighbour.pk, username="mona") == []
    assert "Break-glass review" in access_log_whats(client, manager, admitted.patient_id)


# FHIR searches ---------------------------------------------------------------------------------------


def test_a_fhir_patient_search_leaves_a_row_in_each_found_patients_log(client, outsider, manager, patient):
    other = PatientFactory(family_name="Unfound")
    api = Client()
    api.force_login(outsider)

    response = api.get("/fhir/Patient", {"identifier": f"{fhir.NHS_NUMBER_SYSTEM}|{patient.nhs_number}"})

    assert response.status_code == 200
    searched = rows_for(patient.pk, action=Action.SEARCH)
    assert [(e.channel, e.detail["patients"]) for e in searched] == [("api", [patient.pk])]
    assert rows_for(other.pk) == []
    assert "FHIR Patient search" in access_log_whats(client, manager, patient.pk)


def test_a_fhir_observation_search_of_many_patients_is_one_insert(admitted, neighbour, colleague):
    for p in (admitted.patient, neighbour):
        services.observation_set_record(recorded_by=colleague, patient=p, **NINE)

    api = token_client(Client(), "Warehouse", ["system/Observation.read"])
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/fhir/Observation", {"category": "vital-signs"})

    assert response.status_code == 200
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "audit_auditevent"')]
    assert len(inserts) == 1
    for p in (admitted.patient, neighbour):
        assert [e.api_client for e in rows_for(p.pk, action=Action.SEARCH)] == ["Warehouse"]


# The service and the export -----------------------------------------------------------------------------


def test_one_insert_however_long_the_list(nurse, django_assert_num_queries):
    ids = [PatientFactory().pk for _ in range(25)]
    with django_assert_num_queries(1):
        selectors.audit_list_shown(nurse, listing="ward W7", patient_ids=ids + ids[:3])
    assert sorted(AuditEvent.objects.filter(action=Action.LIST).values_list("patient_id", flat=True)) == ids


def test_a_list_that_showed_nobody_still_records_the_look(nurse):
    selectors.audit_list_shown(nurse, listing="ward W7", patient_ids=[])
    event = AuditEvent.objects.get(action=Action.LIST)
    assert (event.patient_id, event.username, event.detail["list"]) == (None, "alice", "ward W7")


def test_the_subject_access_export_lists_the_ward_list_that_showed_the_patient(client, nurse, admitted):
    login(client, nurse).get(reverse("records:ward_list"))
    sections, _ = collect_export(admitted.patient, redactions=[])
    log = next(s for s in sections if s.key == "access-log")
    shown = [e.details for e in log.entries if e.details["What"] == "Ward list (W7)"]
    assert len(shown) == 1 and shown[0]["Action"] == "Listed" and shown[0]["Who"].endswith("(alice)")


# Item 14: refused alert answers ----------------------------------------------------------------------


def test_an_outsiders_post_to_an_alert_is_refused_and_audited(client, admitted, colleague, outsider):
    record(admitted.patient, colleague, RED_SCORE)
    alert = ClinicalAlert.objects.get()

    response = login(client, outsider).post(
        reverse("records:alert_respond", args=[alert.pk]),
        {"informed": "x", "informed_at": "2026-01-01T10:00", "outcome": "reviewed"},
    )

    assert response.status_code == 403
    denied = AuditEvent.objects.get(action=Action.DENIED, username="charlie")
    assert denied.detail["alert"] == alert.pk
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_an_alert_id_not_addressed_to_the_user_is_refused_and_audited(client, nurse):
    response = login(client, nurse).post(
        reverse("records:alert_respond", args=[987654]), {"outcome": "reviewed"}
    )
    assert response.status_code == 403
    denied = AuditEvent.objects.get(action=Action.DENIED, username="alice")
    assert denied.detail["alert"] == 987654


def test_an_answer_to_an_alert_already_closed_is_refused_and_audited_against_the_patient(
    client, admitted, colleague, nurse
):
    record(admitted.patient, colleague, RED_SCORE)
    alert = respond(ClinicalAlert.objects.get(), nurse)  # reviewed: no longer waiting for an answer
    assert not alert.is_active

    response = login(client, nurse).post(
        reverse("records:alert_respond", args=[alert.pk]),
        {"informed": "x", "informed_at": "2026-01-01T10:00", "outcome": "reviewed"},
    )

    assert response.status_code == 403
    denied = AuditEvent.objects.get(action=Action.DENIED, username="alice")
    assert (denied.patient_id, denied.object_id) == (admitted.patient_id, str(alert.pk))
