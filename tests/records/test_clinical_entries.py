"""Allergies and problems: coded or free text, none-known versus not recorded, amend and entered-in-error."""

from datetime import date

import pytest
from django.urls import reverse

from records import services
from records.errors import RecordError, StaleEdit
from records.models import (
    AllergyIntolerance,
    ClinicalEntry,
    ObservationSet,
    Problem,
    Retractable,
    TreatmentEscalationPlan,
)
from records.selectors import patients as selectors
from tests.support import login


def test_not_recorded_none_known_and_present_are_distinct(patient, nurse):
    assert selectors.allergy_summary(patient).state == "not-recorded"
    services.allergy_record_none_known(recorded_by=nurse, patient=patient)
    assert selectors.allergy_summary(patient).state == "none-known"
    services.allergy_record(
        recorded_by=nurse,
        patient=patient,
        substance_code="764146007",
        reaction="Rash",
        severity="moderate",
        criticality="high",
        verification="confirmed",
    )
    summary = selectors.allergy_summary(patient)
    assert summary.state == "present"
    assert [a.substance for a in summary.allergies] == ["Penicillin"]


def test_none_known_is_refused_while_allergies_are_active(patient, nurse):
    services.allergy_record(recorded_by=nurse, patient=patient, substance_text="Elastoplast")
    with pytest.raises(RecordError, match="active allergies"):
        services.allergy_record_none_known(recorded_by=nurse, patient=patient)


def test_unknown_code_and_duplicates_are_refused(patient, nurse):
    with pytest.raises(RecordError, match="not in the terminology"):
        services.allergy_record(recorded_by=nurse, patient=patient, substance_code="22298006999")
    services.allergy_record(recorded_by=nurse, patient=patient, substance_code="256349002")
    with pytest.raises(RecordError, match="already recorded"):
        services.allergy_record(recorded_by=nurse, patient=patient, substance_code="256349002")
    with pytest.raises(RecordError, match="Choose the substance"):
        services.allergy_record(recorded_by=nurse, patient=patient)


def test_amend_needs_a_reason_and_the_current_version(patient, nurse, doctor):
    allergy = services.allergy_record(recorded_by=nurse, patient=patient, substance_code="387207008")
    with pytest.raises(RecordError, match="reason"):
        services.entry_amend(
            amended_by=doctor, entry=allergy, expected_version=1, changes={"severity": "mild"}, reason=" "
        )
    services.entry_amend(
        amended_by=doctor,
        entry=allergy,
        expected_version=1,
        changes={"verification": "refuted", "clinical_status": "resolved"},
        reason="Tolerated 400mg",
    )
    with pytest.raises(StaleEdit):
        services.entry_amend(
            amended_by=nurse,
            entry=allergy,
            expected_version=1,
            changes={"severity": "mild"},
            reason="Old screen",
        )
    allergy.refresh_from_db()
    assert allergy.version == 2
    assert allergy.history.first().history_change_reason == "Tolerated 400mg"


def test_entered_in_error_is_kept_and_leaves_the_banner(patient, nurse):
    allergy = services.allergy_record(recorded_by=nurse, patient=patient, substance_code="387458008")
    services.entry_mark_error(marked_by=nurse, entry=allergy, reason="Wrong patient")
    assert AllergyIntolerance.objects.filter(pk=allergy.pk, status="entered-in-error").exists()
    assert selectors.allergy_summary(patient).state == "not-recorded"
    with pytest.raises(RecordError, match="entered in error"):
        services.entry_amend(
            amended_by=nurse, entry=allergy, expected_version=2, changes={"severity": "mild"}, reason="x"
        )


def test_problem_gets_its_icd10_code_and_checks_dates(patient, doctor):
    problem = services.problem_record(
        recorded_by=doctor, patient=patient, snomed_code="44054006", onset_date=date(2019, 3, 1)
    )
    assert (problem.snomed_display, problem.icd10_code) == ("Diabetes mellitus type 2", "E11.9")
    with pytest.raises(RecordError, match="on or after the onset"):
        services.entry_amend(
            amended_by=doctor,
            entry=problem,
            expected_version=1,
            changes={"resolved_date": date(2018, 1, 1)},
            reason="Resolved",
        )
    resolved = services.entry_amend(
        amended_by=doctor,
        entry=problem,
        expected_version=1,
        changes={"clinical_status": "resolved", "resolved_date": date(2024, 1, 1)},
        reason="Remission after weight loss",
    )
    assert resolved.clinical_status == "resolved"


def test_banner_shows_allergies_in_red_on_every_patient_page(client, admitted, nurse):
    services.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_code="764146007", reaction="Anaphylaxis"
    )
    login(client, nurse)
    for name in ("patient_detail", "observation_chart", "problem_list", "patient_history"):
        page = client.get(reverse(f"records:{name}", args=[admitted.patient_id]))
        assert b"epr-banner__allergies--present" in page.content, name
        assert b"Penicillin (Anaphylaxis)" in page.content


def test_banner_says_not_yet_recorded(client, admitted, nurse):
    page = login(client, nurse).get(reverse("records:patient_detail", args=[admitted.patient_id]))
    assert b"allergies not yet recorded" in page.content
    assert b"Record allergies" in page.content


def test_record_allergy_and_problem_through_the_pages(client, admitted, doctor):
    login(client, doctor)
    options = client.get(
        reverse("records:terminology_search"), {"substance_search": "penic", "subset": "allergen"}
    )
    assert b'value="764146007"' in options.content
    response = client.post(
        reverse("records:allergy_new", args=[admitted.patient_id]),
        {"substance_code": "764146007", "kind": "allergy", "reaction": "Hives", "verification": "confirmed"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("records:problem_new", args=[admitted.patient_id]),
        {"snomed_code": "233604007", "clinical_status": "active", "verification": "confirmed"},
    )
    assert response.status_code == 302
    assert Problem.objects.get(patient=admitted.patient).icd10_code == "J18.9"


@pytest.mark.parametrize(("who", "status"), [("hca", 403), ("outsider", 403), ("clerk", 403), ("nurse", 302)])
def test_who_may_record_allergies(client, admitted, nurse, colleague, outsider, clerk, who, status):
    user = {"nurse": nurse, "hca": colleague, "outsider": outsider, "clerk": clerk}[who]
    response = login(client, user).post(
        reverse("records:allergy_new", args=[admitted.patient_id]),
        {"substance_text": "Plasters", "kind": "allergy", "verification": "unconfirmed"},
    )
    assert response.status_code == status
    assert AllergyIntolerance.objects.count() == (1 if status == 302 else 0)


def test_nurses_may_not_record_diagnoses(client, admitted, nurse):
    response = login(client, nurse).post(
        reverse("records:problem_new", args=[admitted.patient_id]),
        {"snomed_code": "233604007", "clinical_status": "active", "verification": "confirmed"},
    )
    assert response.status_code == 403
    assert not Problem.objects.exists()


def test_a_long_amendment_reason_is_kept_whole(patient, nurse, doctor):
    allergy = services.allergy_record(recorded_by=nurse, patient=patient, substance_code="387207008")
    reason = "Re-challenged under supervision on the ward; " * 8
    services.entry_amend(
        amended_by=doctor, entry=allergy, expected_version=1, changes={"severity": "mild"}, reason=reason
    )
    assert allergy.history.first().history_change_reason == " ".join(reason.split())


def test_picker_works_without_javascript_and_keeps_the_chosen_name(client, admitted, doctor):
    login(client, doctor)
    url = reverse("records:allergy_new", args=[admitted.patient_id])
    # One match for the typed search: it is taken as the choice.
    assert (
        client.post(
            url, {"substance_search": "peanut", "kind": "allergy", "verification": "confirmed"}
        ).status_code
        == 302
    )
    assert AllergyIntolerance.objects.get().substance_code == "256349002"
    # Several matches: asked to choose; a redisplayed choice shows its name, not a bare code.
    again = client.post(url, {"substance_search": "penic", "kind": "allergy", "verification": "confirmed"})
    assert b"Several concepts match" in again.content
    redisplay = client.post(url, {"substance_code": "764146007", "kind": "bad", "verification": "confirmed"})
    assert b"Penicillin (764146007)" in redisplay.content


def test_hints_and_errors_are_linked_for_screen_readers(client, admitted, doctor):
    page = login(client, doctor).post(
        reverse("records:allergy_new", args=[admitted.patient_id]),
        {"kind": "allergy", "verification": "nope"},
    )
    html = page.content.decode()
    assert 'aria-describedby="reaction-hint"' in html and 'id="reaction-hint"' in html
    assert 'aria-describedby="verification-error"' in html and 'id="verification-error"' in html
    assert "Reaction (optional)" in html


def test_every_clinical_entry_shares_the_entry_base_and_knows_when_it_is_in_error(patient, nurse):
    assert issubclass(AllergyIntolerance, ClinicalEntry) and issubclass(Problem, ClinicalEntry)
    assert issubclass(TreatmentEscalationPlan, ClinicalEntry) and issubclass(ObservationSet, Retractable)
    allergy = services.allergy_record(recorded_by=nurse, patient=patient, substance_text="Latex")
    assert not allergy.entered_in_error
    struck = services.entry_mark_error(marked_by=nurse, entry=allergy, reason="Wrong patient")
    assert struck.entered_in_error and struck.error_reason == "Wrong patient"
