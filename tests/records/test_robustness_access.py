"""Access goes through the one door: lists, alerts and entries by id show nothing without a care
relationship, drafts stay private, and list pages audit whom they showed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records import services
from records.access import Level, patient_access
from records.models import (
    AllergyIntolerance,
    CarePlan,
    ObservationSet,
    SubjectAccessRequest,
)
from tests.factories import PatientFactory
from tests.support import audit_mark, audited_patients_since, client_for, shown

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUP2 = "\u00b2"  # SUPERSCRIPT TWO: str.isdigit() is True, int() refuses it

# -- access through the one helper ------------------------------------------------------------------


def test_overdue_care_plans_are_not_shown_without_a_care_relationship(admitted, nurse, outsider):
    plan = services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Alcohol withdrawal plan",
        goals="g",
        interventions="i",
        responsible=outsider,  # any clinician can be named responsible
        review_date=timezone.localdate() + timedelta(days=3),
    )
    CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=1))
    assert patient_access(outsider, admitted.patient).level == Level.NONE
    # selectors.overdue_careplans_for selects by responsible/team/ward without asking records.access.
    response = client_for(outsider).get(reverse("records:careplans_overdue"))
    assert response.status_code == 200
    assert b"Alcohol withdrawal plan" not in response.content
    assert shown(admitted.patient.display_name).encode() not in response.content


def test_alerts_are_not_shown_once_access_to_the_patient_has_ended(
    admitted, nurse, colleague, clerk, other_ward
):
    obs = services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        respiration_rate=30,
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=Decimal("37"),
    )
    services.alert_raise_for_set(obs=obs)
    services.encounter_transfer(transferred_by=clerk, encounter=admitted, ward=other_ward, bed=None)
    services.withdraw_ended_care_relationships(now=timezone.now() + timedelta(days=2))
    assert patient_access(nurse, admitted.patient).level == Level.NONE
    # selectors.alerts_for_user selects by recipient group only.
    response = client_for(nurse).get(reverse("records:alert_list"))
    assert shown(admitted.patient.display_name).encode() not in response.content


@pytest.mark.parametrize(
    "url",
    [
        "patient_detail",
        "observation_chart",
        "note_list",
        "allergy_list",
        "careplan_list",
        "patient_timeline",
        "patient_history",
    ],
)
def test_an_outsider_is_refused_without_seeing_the_record_and_the_refusal_is_audited(outsider, admitted, url):
    services.allergy_record(recorded_by=outsider, patient=admitted.patient, substance_text="Zyxallergen")
    mark = audit_mark()
    response = client_for(outsider).get(reverse(f"records:{url}", args=[admitted.patient_id]))
    assert response.status_code == 403
    assert b"Zyxallergen" not in response.content
    # Only who the patient is (to check it is the right person before breaking glass), no banner.
    assert b"999 000 0018" in response.content and b"patient-banner" not in response.content
    assert AuditEvent.objects.filter(id__gt=mark, action=Action.DENIED).exists()


def test_an_outsider_cannot_write_and_nothing_changes(outsider, admitted, plan):
    client = client_for(outsider)
    p = admitted.patient_id
    posts = [
        (
            reverse("records:allergy_new", args=[p]),
            {"substance_text": "Peanut", "kind": "allergy", "verification": "confirmed"},
        ),
        (reverse("records:observations_record", args=[p]), {"respiration_rate": "18"}),
        (reverse("records:careplan_error", args=[p, plan.pk]), {"reason": "Not mine"}),
        (reverse("records:allergy_none_known", args=[p]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    assert not AllergyIntolerance.objects.exists()
    assert not ObservationSet.objects.exists()
    plan.refresh_from_db()
    assert plan.status == "active"


def test_another_patients_entry_id_in_the_url_is_not_found(nurse, admitted, plan):
    other = PatientFactory(family_name="Other", nhs_number="")
    allergy = services.allergy_record(recorded_by=nurse, patient=other, substance_text="Otherallergen")
    client = client_for(nurse)
    p = admitted.patient_id
    assert client.get(reverse("records:entry_amend", args=[p, "allergies", allergy.pk])).status_code == 404
    assert (
        client.post(
            reverse("records:entry_mark_error", args=[p, "allergies", allergy.pk]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert client.get(reverse("records:entry_history", args=[p, "allergies", allergy.pk])).status_code == 404
    # An entry id of another kind finds nothing either.
    assert client.get(reverse("records:entry_amend", args=[p, "problems", allergy.pk])).status_code == 404
    allergy.refresh_from_db()
    assert allergy.status == "final"


# -- drafts stay private -------------------------------------------------------------------------------


def test_another_clinicians_draft_is_not_found(nurse, doctor, admitted, template):
    draft = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="Draftsecret"
    )
    client = client_for(doctor)
    p = admitted.patient_id
    assert b"Draftsecret" not in client.get(reverse("records:note_list", args=[p])).content
    for url in (
        reverse("records:note_edit", args=[p, draft.pk]),
        reverse("records:note_history", args=[p, draft.pk]),
    ):
        assert client.get(url).status_code == 404
    response = client.get(f"/patients/{p}/timeline/notes/{draft.pk}/")
    assert response.status_code == 404
    assert b"Draftsecret" not in client.get(reverse("records:patient_timeline", args=[p])).content


def test_entry_history_as_of_does_not_show_a_notes_unsigned_draft(nurse, doctor, admitted, template):
    note = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="Early musing"
    )
    note = services.note_sign(
        signed_by=nurse, note=note, expected_version=note.version, free_text="Signed words"
    )
    draft, signed = note.history.order_by("history_date")[:2]
    between = draft.history_date + (signed.history_date - draft.history_date) / 2
    as_of = timezone.localtime(between).replace(tzinfo=None).isoformat()
    # timeline.entry_as_of returns the historical row from before signing, and entry_history shows
    # every field of it, to anyone with clinical access.
    response = client_for(doctor).get(
        f"/patients/{admitted.patient_id}/timeline/notes/{note.pk}/", {"as_of": as_of}
    )
    assert response.status_code < 500
    assert b"Early musing" not in response.content


def test_a_discarded_draft_is_not_in_a_subject_access_export(
    nurse, admin_user, admitted, template, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    draft = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="Half a thought"
    )
    services.note_mark_error(marked_by=nurse, note=draft, reason="Started by mistake")
    sar = services.subject_access_create(
        logged_by=admin_user,
        patient=admitted.patient,
        received_on=timezone.localdate(),
        requester_kind="patient",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_access_queue_generation(requested_by=admin_user, sar=sar)
    client = client_for(admin_user)
    response = client.get(reverse("records:sar_download", args=[admitted.patient_id, sar.pk, "json"]))
    assert response.status_code == 200
    assert b"Half a thought" not in b"".join(response.streaming_content)


def test_subject_access_files_are_only_for_information_governance(
    admin_user, manager, nurse, admitted, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    sar = services.subject_access_create(
        logged_by=admin_user,
        patient=admitted.patient,
        received_on=timezone.localdate(),
        requester_kind="patient",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.subject_access_queue_generation(requested_by=admin_user, sar=sar)
    url = reverse("records:sar_download", args=[admitted.patient_id, sar.pk, "pdf"])
    for user in (manager, nurse):
        assert client_for(user).get(url).status_code == 403
    assert client_for(None).get(url).status_code == 302
    other = PatientFactory(family_name="Other", nhs_number="")
    assert (
        client_for(admin_user)
        .get(reverse("records:sar_download", args=[other.pk, sar.pk, "pdf"]))
        .status_code
        == 404
    )
    assert (
        client_for(admin_user)
        .get(reverse("records:sar_download", args=[admitted.patient_id, sar.pk, "exe"]))
        .status_code
        == 404
    )
    assert SubjectAccessRequest.objects.get().status == "ready"


# -- audit of list pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["ward_list", "alert_list", "careplans_overdue", "my_patients"])
def test_list_pages_that_show_patients_audit_the_read(admitted, nurse, doctor, colleague, plan, page):
    obs = services.observation_set_record(
        recorded_by=colleague,
        patient=admitted.patient,
        respiration_rate=30,
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=Decimal("37"),
    )
    services.alert_raise_for_set(obs=obs)
    CarePlan.objects.filter(pk=plan.pk).update(review_date=timezone.localdate() - timedelta(days=1))
    user = doctor if page == "my_patients" else nurse
    mark = audit_mark()
    response = client_for(user).get(reverse(f"records:{page}"))
    assert shown(admitted.patient.display_name).encode() in response.content
    # The patient search page and the subject access deadlines write a list audit row; these do not.
    assert admitted.patient_id in audited_patients_since(mark)


def test_the_search_page_audits_which_patients_it_showed(admitted, nurse):
    mark = audit_mark()
    assert client_for(nurse).get(reverse("records:patient_search"), {"name": "smith"}).status_code == 200
    assert admitted.patient_id in audited_patients_since(mark)
