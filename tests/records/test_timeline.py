"""The timeline: every kind of entry in one order, filters, constant queries, and "as it was on" a date."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from records import services
from records.models import AllergyIntolerance, NoteTemplate
from records.selectors import timeline
from records.services import note_start
from tests.support import login


@pytest.fixture
def record(admitted, nurse, doctor):
    allergy = services.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_code="387207008", severity="mild"
    )
    services.problem_record(recorded_by=doctor, patient=admitted.patient, snomed_code="233604007")
    services.observation_set_record(
        recorded_by=nurse, patient=admitted.patient, pulse=88, temperature=Decimal("37.2")
    )
    return allergy


def test_timeline_merges_every_kind_newest_first(record, admitted):
    items = timeline.timeline(admitted.patient)
    assert [i.kind for i in items][:3] == ["observations", "problems", "allergies"]
    assert items[-1].title == "Admitted"
    assert timeline.timeline(admitted.patient, kinds=["allergies"])[0].title == "Allergy: Ibuprofen"


def test_timeline_page_filters_and_keeps_queries_flat(
    client, record, admitted, nurse, django_assert_max_num_queries
):
    login(client, nurse)
    url = reverse("records:patient_timeline", args=[admitted.patient_id])
    with django_assert_max_num_queries(27):  # with the clinical banner and the alerts each set raised
        page = client.get(url)
    for _ in range(20):
        services.observation_set_record(recorded_by=nurse, patient=admitted.patient, pulse=70)
    with django_assert_max_num_queries(27):  # with the clinical banner and the alerts each set raised
        assert client.get(url).status_code == 200
    filtered = client.get(url, {"kinds": ["problems"]})
    assert (
        b"Problem: Pneumonia" in filtered.content and b"Observations" not in filtered.content.split(b"<ol")[1]
    )
    assert b"Allergy: Ibuprofen" in page.content


def test_an_entry_as_it_was_on_a_date(client, record, admitted, nurse, doctor):
    services.entry_amend(
        amended_by=doctor,
        entry=record,
        expected_version=1,
        changes={"severity": "severe"},
        reason="Re-challenge: angioedema",
    )
    # Put the first version in the past so "as of yesterday" finds it.
    first = record.history.order_by("history_date").first()
    AllergyIntolerance.history.filter(pk=first.pk).update(history_date=timezone.now() - timedelta(days=2))
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    as_was = timeline.entry_as_of(
        "allergies", admitted.patient, record.pk, timezone.now() - timedelta(days=1)
    )
    assert as_was.severity == "mild"

    page = login(client, nurse).get(
        reverse("records:entry_history", args=[admitted.patient_id, "allergies", record.pk]),
        {"as_of": yesterday},
    )
    as_of_part = page.content.split(b'data-testid="as-of"')[1].split(b"</dl>")[0]
    assert b"Mild" in as_of_part and b"Severe" not in as_of_part
    assert b"Re-challenge: angioedema" in page.content
    before = login(client, nurse).get(
        reverse("records:entry_history", args=[admitted.patient_id, "allergies", record.pk]),
        {"as_of": "2001-01-01"},
    )
    assert b"had not been recorded yet" in before.content


def test_timeline_needs_a_care_relationship(client, record, admitted, outsider):
    response = login(client, outsider).get(reverse("records:patient_timeline", args=[admitted.patient_id]))
    assert response.status_code == 403


def test_someone_elses_draft_note_cannot_be_read_through_entry_history(client, admitted, nurse, doctor):

    template = NoteTemplate.objects.filter(active=True).first()
    draft = note_start(author=doctor, patient=admitted.patient, template=template, title="Thinking aloud")
    response = login(client, nurse).get(
        reverse("records:entry_history", args=[admitted.patient_id, "notes", draft.pk])
    )
    assert response.status_code == 404
