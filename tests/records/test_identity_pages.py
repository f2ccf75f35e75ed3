"""Identity safety, merge and rollback previews, and admit/transfer/discharge, through the pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records import services
from records.models import Encounter, EncounterStatus, Patient, PatientMerge, WardStay
from tests.factories import PatientFactory
from tests.support import login


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- 9. Identity safety for clerks -------------------------------------------------------------


def test_a_search_by_an_nhs_number_failing_modulus_11_says_so(client, clerk):
    response = login(client, clerk).get(reverse("records:patient_search"), {"identifier": "943 476 5918"})
    text = response.content.decode()
    assert "943 476 5918 is not a valid NHS number: the check digit is wrong" in text
    assert "There is a problem" in text
    assert "register a new patient" not in text  # no invitation to make a duplicate
    assert not AuditEvent.objects.filter(action=Action.SEARCH).exists()


def test_a_search_by_a_short_nhs_number_says_how_many_digits(client, clerk):
    response = login(client, clerk).get(reverse("records:patient_search"), {"identifier": "943476591"})
    assert b"An NHS number has 10 digits; this has 9." in response.content


def test_a_valid_nhs_number_and_a_hospital_number_still_search(client, clerk, patient):
    login(client, clerk)
    assert (
        patient.hospital_number.encode()
        in client.get(reverse("records:patient_search"), {"identifier": "999 000 0018"}).content
    )
    assert (
        patient.hospital_number.encode()
        in client.get(
            reverse("records:patient_search"), {"identifier": patient.hospital_number.lower()}
        ).content
    )


def _date(name: str, iso: str) -> dict:
    """A date as both a single field and Day/Month/Year boxes, whichever the form's widget reads."""
    year, month, day = iso.split("-")
    return {name: iso, f"{name}_day": day, f"{name}_month": month, f"{name}_year": year}


def _registration(**overrides) -> dict:
    data = {
        "family_name": "Okafor",
        "given_names": "Grace",
        **_date("date_of_birth", "1948-05-17"),
        "sex": "female",
        "nhs_number_status": "03",
        "postcode": "LS1 4AP",
    }
    return {**data, **overrides}


@pytest.fixture
def grace(db):
    return PatientFactory(
        family_name="Okafor",
        given_names="Grace Adaeze",
        date_of_birth=date(1948, 5, 17),
        sex="female",
        postcode="LS6 2QT",
        address_line_1="12 Cardigan Road",
    )


def test_registering_a_possible_duplicate_shows_the_matches_and_saves_nothing(client, clerk, grace):
    before = Patient.objects.count()
    response = login(client, clerk).post(reverse("records:patient_register"), _registration())
    text = response.content.decode()
    assert response.status_code == 200
    assert Patient.objects.count() == before
    assert "1 possible match already registered" in text
    assert grace.nhs_number_display in text and "17-May-1948" in text and "12 Cardigan Road" in text
    assert reverse("records:patient_detail", args=[grace.pk]) in text
    assert "None of these is the patient: register a new record" in text
    assert AuditEvent.objects.filter(action=Action.LIST, detail__list="possible duplicates").exists()


def test_registering_after_confirming_none_of_the_matches_saves_the_new_record(client, clerk, grace):
    login(client, clerk)
    response = client.post(reverse("records:patient_register"), _registration(not_duplicate_of=str(grace.pk)))
    assert response.status_code == 302
    assert Patient.objects.filter(family_name="Okafor").count() == 2


def test_a_confirmation_for_other_matches_does_not_count(client, clerk, grace):
    """A confirmation given for one set of matches does not cover a record that matches now."""
    other = PatientFactory(family_name="Okafor", given_names="Grace", postcode="LS1 4AP")
    before = Patient.objects.count()
    response = login(client, clerk).post(
        reverse("records:patient_register"), _registration(not_duplicate_of=f"{grace.pk},x")
    )
    assert response.status_code == 200 and Patient.objects.count() == before
    assert reverse("records:patient_detail", args=[other.pk]).encode() in response.content


def test_a_match_on_name_and_postcode_alone_is_shown(client, clerk):
    PatientFactory(
        family_name="OKAFOR", given_names="Grace", date_of_birth=date(1950, 1, 1), postcode="LS1 4AP"
    )
    response = login(client, clerk).post(
        reverse("records:patient_register"), _registration(postcode="ls1  4ap")
    )
    assert b"possible match" in response.content


def test_the_same_name_with_another_birth_date_and_postcode_is_not_a_match(client, clerk, grace):
    response = login(client, clerk).post(
        reverse("records:patient_register"),
        _registration(**_date("date_of_birth", "1960-01-01"), postcode="M1 1AA"),
    )
    assert response.status_code == 302


def test_an_nhs_number_in_use_links_to_that_record(client, clerk, patient):
    before = Patient.objects.count()
    response = login(client, clerk).post(
        reverse("records:patient_register"), _registration(family_name="Smyth", nhs_number="999 000 0018")
    )
    text = response.content.decode()
    assert Patient.objects.count() == before
    assert f"is already in use by the record {patient.hospital_number}" in text
    assert f'href="{reverse("records:patient_detail", args=[patient.pk])}"' in text


def test_the_clash_shown_to_a_nurse_without_access_names_only_the_hospital_number(
    client, nurse, ward, patient
):
    """A nurse editing her own patient's NHS number to one used by a patient she cannot open."""
    mine = PatientFactory(nhs_number="")
    services.care_relationship_start(
        patient=mine, group=ward.staff_group, kind="ward", encounter=None, at=timezone.now()
    )
    response = login(client, nurse).post(
        reverse("records:patient_edit", args=[mine.pk]),
        {
            "family_name": mine.family_name,
            "sex": mine.sex,
            "nhs_number": "999 000 0018",
            "nhs_number_status": "02",
            "version": mine.version,
        },
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert f"the record with hospital number <strong>{patient.hospital_number}</strong>" in text
    assert reverse("records:patient_detail", args=[patient.pk]) not in text
    mine.refresh_from_db()
    assert mine.nhs_number == ""


def test_the_no_relationship_page_shows_who_the_patient_is(client, outsider, admitted):
    response = login(client, outsider).get(reverse("records:patient_detail", args=[admitted.patient_id]))
    text = response.content.decode()
    assert response.status_code == 403
    patient = admitted.patient
    assert patient.display_name in text and "999 000 0018" in text
    assert patient.date_of_birth.strftime("%d-%b-%Y") in text


@pytest.fixture
def glass(outsider, admitted):
    return services.break_glass_start(
        user=outsider, patient=admitted.patient, reason="Arrest call in the corridor"
    )


def test_break_glass_may_not_transfer(client, outsider, admitted, glass, other_ward, other_bed):
    response = login(client, outsider).post(
        reverse("records:patient_transfer", args=[admitted.patient_id]),
        {"ward": other_ward.pk, "bed": other_bed.pk, "reason": "Moving", "version": admitted.version},
    )
    assert response.status_code == 403
    assert WardStay.objects.filter(encounter=admitted).count() == 1
    assert client.get(reverse("records:patient_transfer", args=[admitted.patient_id])).status_code == 403


def test_break_glass_may_not_discharge(client, outsider, admitted, glass):
    response = login(client, outsider).post(
        reverse("records:patient_discharge", args=[admitted.patient_id]),
        {"destination": "19", "version": admitted.version, "confirm": "yes"},
    )
    assert response.status_code == 403
    admitted.refresh_from_db()
    assert admitted.status == EncounterStatus.ACTIVE


def test_break_glass_may_not_edit_demographics(client, outsider, admitted, glass):
    patient = admitted.patient
    response = login(client, outsider).post(
        reverse("records:patient_edit", args=[patient.pk]),
        {
            "family_name": "Changed",
            "sex": patient.sex,
            "nhs_number": patient.nhs_number,
            "nhs_number_status": patient.nhs_number_status,
            "version": patient.version,
        },
    )
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.family_name == "Smith" and patient.version == 1


def test_break_glass_may_not_admit(client, outsider, ward, doctor, clerk):
    patient = PatientFactory()
    services.break_glass_start(user=outsider, patient=patient, reason="Arrest call in the corridor")
    response = login(client, outsider).post(
        reverse("records:patient_admit", args=[patient.pk]),
        {"ward": ward.pk, "consultant": doctor.pk, "specialty": "300", "admission_method": "21"},
    )
    assert response.status_code == 403
    assert not Encounter.objects.filter(patient=patient).exists()


def test_break_glass_still_reads_the_record(client, outsider, admitted, glass):
    response = login(client, outsider).get(reverse("records:patient_detail", args=[admitted.patient_id]))
    assert response.status_code == 200 and b"Break-glass access until" in response.content


def test_the_treating_nurse_may_still_discharge(client, nurse, admitted):
    response = login(client, nurse).post(
        reverse("records:patient_discharge", args=[admitted.patient_id]),
        {"destination": "19", "version": admitted.version, "confirm": "yes"},
    )
    assert response.status_code == 302


# --- 10. Merge and rollback with a preview ------------------------------------------------------


@pytest.fixture
def pair(db, nurse, admitted):
    survivor = admitted.patient  # Smith, John, 999 000 0018
    duplicate = PatientFactory(
        family_name="Smith",
        given_names="Jon",
        nhs_number="",
        postcode="LS1 4AP",
        date_of_birth=survivor.date_of_birth,
    )
    services.allergy_record(recorded_by=nurse, patient=duplicate, substance_text="Penicillin")
    services.allergy_record(recorded_by=nurse, patient=duplicate, substance_text="Latex")
    return survivor, duplicate


def test_merge_shows_both_records_side_by_side_and_changes_nothing(client, admin_user, pair):
    survivor, duplicate = pair
    response = login(client, admin_user).post(
        reverse("records:patient_merge", args=[duplicate.pk]),
        {"other": survivor.hospital_number, "reason": "Same man"},
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="merge-comparison"' in text
    for label in (
        "Given names",
        "Postcode",
        "NHS number",
        "Date of birth",
        "GP practice name",
        "Needs an interpreter",
    ):
        assert f"{label}" in text
    assert text.count('data-differs="true"') >= 2  # given names, NHS number, postcode at least
    assert "999 000 0018" in text and survivor.hospital_number in text
    assert f"Merge into {survivor.hospital_number}" in text
    duplicate.refresh_from_db()
    assert duplicate.status == "active" and not PatientMerge.objects.exists()


def test_confirmed_merge_lists_what_moved_by_kind(client, admin_user, pair):
    survivor, duplicate = pair
    login(client, admin_user)
    response = client.post(
        reverse("records:patient_merge", args=[duplicate.pk]),
        {"other": survivor.hospital_number, "reason": "Same man", "confirm": "yes"},
    )
    merge = PatientMerge.objects.get()
    assert response.url == reverse("records:merge_result", args=[survivor.pk, merge.pk])
    page = client.get(response.url).content.decode()
    assert "Allergies and intolerances" in page or "Allergy intolerances" in page
    assert ">2<" in page


def test_merge_into_itself_is_refused_on_the_form(client, admin_user, patient):
    response = login(client, admin_user).post(
        reverse("records:patient_merge", args=[patient.pk]), {"other": patient.hospital_number, "reason": "x"}
    )
    assert b"That is this record" in response.content


@pytest.fixture
def edited(patient, clerk):
    services.patient_update(
        updated_by=clerk,
        patient=patient,
        expected_version=1,
        changes={"postcode": "LS1 4AP", "sex": "female" if patient.sex == "male" else "male"},
    )
    patient.refresh_from_db()
    return patient


def test_rollback_shows_before_and_after_and_asks_for_a_reason(client, admin_user, edited):
    first = edited.history.order_by("history_date").first()
    login(client, admin_user)
    url = reverse("records:patient_rollback", args=[edited.pk, first.history_id])
    page = client.get(url).content.decode()
    assert "LS1 4AP" in page and first.postcode in page and "Female" in page and "Male" in page
    assert "Reason for rolling back" in page
    response = client.post(url, {"version": edited.version})
    assert response.status_code == 200
    edited.refresh_from_db()
    assert edited.version == 2 and edited.postcode == "LS1 4AP"
    response = client.post(url, {"version": edited.version, "reason": "Wrong patient's postcode typed"})
    assert response.status_code == 302
    edited.refresh_from_db()
    assert edited.version == 3 and edited.postcode == first.postcode
    assert (
        edited.history.first().history_change_reason
        == "Rolled back to version 1: Wrong patient's postcode typed"
    )


def test_history_shows_labels_and_old_and_new_values(client, clerk, edited):
    first = edited.history.order_by("history_date").first()
    text = login(client, clerk).get(reverse("records:patient_history", args=[edited.pk])).content.decode()
    assert "<strong>Postcode</strong>" in text and "<strong>Sex</strong>" in text
    assert first.postcode in text and "LS1 4AP" in text and "→" in text
    assert "Male" in text and "Female" in text
    assert "postcode," not in text and ">sex<" not in text


def test_history_query_count_is_constant(client, clerk, patient, django_assert_max_num_queries):
    login(client, clerk)
    for n in range(3):
        services.patient_update(
            updated_by=clerk, patient=patient, expected_version=n + 1, changes={"phone": str(n)}
        )
    with django_assert_max_num_queries(14):
        client.get(reverse("records:patient_history", args=[patient.pk]))
    for n in range(3, 20):
        services.patient_update(
            updated_by=clerk, patient=patient, expected_version=n + 1, changes={"phone": str(n)}
        )
    with django_assert_max_num_queries(14):
        assert client.get(reverse("records:patient_history", args=[patient.pk])).status_code == 200


# --- 11. Admit, transfer, discharge --------------------------------------------------------------


def test_the_admit_form_has_no_defaults_and_says_what_is_missing(client, clerk, patient):
    login(client, clerk)
    page = client.get(reverse("records:patient_admit", args=[patient.pk])).content.decode()
    assert page.count('<option value="" selected>Choose...</option>') == 4
    assert 'class="nhsuk-back-link"' in page and ">Cancel<" in page
    response = client.post(reverse("records:patient_admit", args=[patient.pk]), {"ward": ""})
    text = response.content.decode()
    for message in (
        "Select a specialty",
        "Select the admission method",
        "Select a ward",
        "Select the consultant",
    ):
        assert message in text
    assert not Encounter.objects.exists()


def test_the_team_is_filled_from_a_consultant_who_leads_one(client, clerk, patient, ward, doctor, team):
    login(client, clerk)
    options = client.get(reverse("records:consultant_teams"), {"consultant": doctor.pk}).content.decode()
    assert f'<option value="{team.pk}" selected>' in options
    response = client.post(
        reverse("records:patient_admit", args=[patient.pk]),
        {"ward": ward.pk, "consultant": doctor.pk, "specialty": "300", "admission_method": "21"},
    )
    assert response.status_code == 302
    assert Encounter.objects.get(patient=patient).team == team


def test_the_transfer_form_shows_where_the_patient_is_and_records_the_reason(
    client, clerk, admitted, other_ward, other_bed
):
    login(client, clerk)
    url = reverse("records:patient_transfer", args=[admitted.patient_id])
    page = client.get(url).content.decode()
    assert "Current ward" in page and "Ward 7" in page and "Bay A bed 1" in page
    response = client.post(url, {"ward": other_ward.pk, "bed": other_bed.pk, "version": admitted.version})
    assert b"Enter the reason for the transfer" in response.content
    response = client.post(
        url,
        {
            "ward": other_ward.pk,
            "bed": other_bed.pk,
            "version": admitted.version,
            "reason": "Needs a side room",
        },
    )
    assert response.status_code == 302
    assert WardStay.objects.get(encounter=admitted, ended_at__isnull=True).reason == "Needs a side room"


def test_discharge_is_confirmed_on_a_summary_first(client, clerk, admitted):
    login(client, clerk)
    url = reverse("records:patient_discharge", args=[admitted.patient_id])
    response = client.post(url, {"destination": "54", "version": admitted.version})
    text = response.content.decode()
    assert 'data-testid="discharge-summary"' in text
    assert "Care home" in text and "Ward 7" in text and "SMITH, John" in text
    assert timezone.localtime(admitted.admitted_at).strftime("%d-%b-%Y") in text
    admitted.refresh_from_db()
    assert admitted.status == EncounterStatus.ACTIVE
    assert (
        client.post(url, {"destination": "54", "version": admitted.version, "confirm": "yes"}).status_code
        == 302
    )
    admitted.refresh_from_db()
    assert admitted.status == EncounterStatus.FINISHED and admitted.discharge_destination == "54"


def test_a_death_needs_its_date_and_time(client, clerk, admitted):
    login(client, clerk)
    url = reverse("records:patient_discharge", args=[admitted.patient_id])
    data = {"destination": "79", "version": admitted.version, "confirm": "yes"}
    assert b"Enter the date and time of death" in client.post(url, data).content
    future = _local(timezone.now() + timedelta(hours=2))
    assert b"cannot be in the future" in client.post(url, {**data, "died_at": future}).content
    before = _local(admitted.admitted_at - timedelta(hours=1))
    assert b"cannot be before the admission" in client.post(url, {**data, "died_at": before}).content
    admitted.refresh_from_db()
    admitted.patient.refresh_from_db()
    assert admitted.status == EncounterStatus.ACTIVE and admitted.patient.date_of_death is None


def test_a_death_is_recorded_on_the_patient(client, clerk, admitted):
    admitted.admitted_at = timezone.now() - timedelta(days=2)
    admitted.save()
    WardStay.objects.filter(encounter=admitted).update(started_at=admitted.admitted_at)
    died = timezone.localtime(timezone.now() - timedelta(hours=3)).replace(second=0, microsecond=0)
    login(client, clerk)
    url = reverse("records:patient_discharge", args=[admitted.patient_id])
    data = {"destination": "79", "version": admitted.version, "died_at": _local(died)}
    summary = client.post(url, data).content.decode()
    assert "Date and time of death" in summary and died.strftime("%d-%b-%Y %H:%M") in summary
    assert client.post(url, {**data, "confirm": "yes"}).status_code == 302
    patient = Patient.objects.get(pk=admitted.patient_id)
    assert patient.date_of_death == died.date() and patient.time_of_death == died.time()


def test_possible_matches_page_query_count_is_constant(client, clerk, django_assert_max_num_queries):
    login(client, clerk)
    data = _registration()
    for _ in range(2):
        PatientFactory(family_name="Okafor", given_names="Grace", postcode="LS1 4AP")
    with django_assert_max_num_queries(16):
        small = client.post(reverse("records:patient_register"), data)
    for _ in range(12):
        PatientFactory(family_name="Okafor", given_names="Grace", postcode="LS1 4AP")
    with django_assert_max_num_queries(16):
        large = client.post(reverse("records:patient_register"), data)
    assert b"2 possible matches" in small.content
    assert b"10 possible matches" in large.content  # the closest ten; the clerk searches for more


def test_merge_preview_query_count_is_constant(client, admin_user, nurse, django_assert_max_num_queries):
    survivor = PatientFactory()
    few, many = PatientFactory(nhs_number=""), PatientFactory(nhs_number="")
    services.allergy_record(recorded_by=nurse, patient=few, substance_text="Latex")
    for n in range(20):
        services.allergy_record(recorded_by=nurse, patient=many, substance_text=f"Substance {n}")
    login(client, admin_user)
    for duplicate in (few, many):
        with django_assert_max_num_queries(16):
            response = client.post(
                reverse("records:patient_merge", args=[duplicate.pk]),
                {"other": survivor.hospital_number, "reason": "Same person"},
            )
        assert response.status_code == 200
