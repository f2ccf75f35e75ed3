"""The pages: who may do what (a role x action matrix), audit of page reads, query counts."""

import re

import pytest
from django.urls import reverse

from epr.audit.models import Action, AuditEvent
from records import services
from records import services as record_services
from records.models import Encounter, Patient
from tests.factories import BedFactory, PatientFactory
from tests.support import login

OPEN_RECORD = {
    "nurse": 200,
    "hca": 200,
    "doctor": 200,
    "outsider": 403,
    "pharmacist": 403,
    "clerk": 200,
    "manager": 200,
    "admin": 200,
}


@pytest.mark.parametrize(("who", "status"), OPEN_RECORD.items())
def test_who_may_open_a_record(client, users, admitted, who, status):
    response = login(client, users[who]).get(reverse("records:patient_detail", args=[admitted.patient_id]))
    assert response.status_code == status
    if status == 403:
        assert b"You do not have a care relationship" in response.content
        # Who the patient is (so the right record is broken into), but nothing clinical.
        assert admitted.patient.family_name.upper().encode() in response.content
        assert b"patient-banner" not in response.content


REGISTER = {
    "nurse": 403,
    "hca": 403,
    "doctor": 403,
    "pharmacist": 403,
    "clerk": 302,
    "manager": 403,
    "admin": 302,
}


@pytest.mark.parametrize(("who", "status"), REGISTER.items())
def test_who_may_register(client, users, who, status):
    before = Patient.objects.count()
    response = login(client, users[who]).post(
        reverse("records:patient_register"),
        {
            "family_name": "Nowak",
            "given_names": "Ewa",
            "nhs_number": "999 000 1170",
            "nhs_number_status": "02",
            "sex": "female",
        },
    )
    assert response.status_code == status
    assert Patient.objects.count() == before + (1 if status == 302 else 0)


EDIT = {
    "nurse": 302,
    "hca": 403,
    "doctor": 302,
    "outsider": 403,
    "pharmacist": 403,
    "clerk": 302,
    "manager": 403,
    "admin": 302,
}


@pytest.mark.parametrize(("who", "status"), EDIT.items())
def test_who_may_edit_demographics(client, users, admitted, who, status):
    patient = admitted.patient
    data = {
        "family_name": patient.family_name,
        "given_names": patient.given_names,
        "sex": patient.sex,
        "nhs_number": patient.nhs_number,
        "nhs_number_status": patient.nhs_number_status,
        "phone": "0113 496 0001",
        "version": patient.version,
    }
    response = login(client, users[who]).post(reverse("records:patient_edit", args=[patient.pk]), data)
    assert response.status_code == status
    patient.refresh_from_db()
    assert (patient.phone == "0113 496 0001") == (status == 302)


DISCHARGE = {"nurse": 302, "hca": 403, "doctor": 403, "outsider": 403, "clerk": 302, "manager": 403}


@pytest.mark.parametrize(("who", "status"), DISCHARGE.items())
def test_who_may_discharge(client, users, admitted, who, status):
    response = login(client, users[who]).post(
        reverse("records:patient_discharge", args=[admitted.patient_id]),
        {"destination": "19", "version": admitted.version, "confirm": "yes"},  # the confirmed summary
    )
    assert response.status_code == status
    admitted.refresh_from_db()
    assert (admitted.status == "finished") == (status == 302)


MERGE = {"nurse": 403, "clerk": 403, "manager": 403, "admin": 302}


@pytest.mark.parametrize(("who", "status"), MERGE.items())
def test_who_may_merge(client, users, patient, who, status):
    duplicate = PatientFactory(nhs_number="")
    response = login(client, users[who]).post(
        reverse("records:patient_merge", args=[duplicate.pk]),
        {"other": patient.hospital_number, "reason": "Same person", "confirm": "yes"},
    )
    assert response.status_code == status
    duplicate.refresh_from_db()
    assert (duplicate.status == "merged") == (status == 302)


ACCESS_LOG = {"nurse": 403, "clerk": 403, "manager": 200, "admin": 200}


@pytest.mark.parametrize(("who", "status"), ACCESS_LOG.items())
def test_who_may_see_the_access_log(client, users, admitted, who, status):
    response = login(client, users[who]).get(
        reverse("records:patient_access_log", args=[admitted.patient_id])
    )
    assert response.status_code == status


def test_reading_a_page_is_audited_with_channel_and_address(client, nurse, admitted):
    login(client, nurse).get(
        reverse("records:patient_detail", args=[admitted.patient_id]), REMOTE_ADDR="10.1.2.3"
    )
    event = AuditEvent.objects.filter(patient_id=admitted.patient_id, action=Action.VIEW).latest("at")
    assert (event.username, event.role, event.channel, event.client_address) == (
        "alice",
        "nurse",
        "page",
        "10.1.2.3",
    )


def test_access_log_lists_who_looked(client, nurse, manager, admitted):
    login(client, nurse).get(reverse("records:patient_detail", args=[admitted.patient_id]))
    response = login(client, manager).get(reverse("records:patient_access_log", args=[admitted.patient_id]))
    assert b"alice" in response.content


def test_outsider_breaks_glass_through_the_page(client, outsider, admitted):
    login(client, outsider)
    url = reverse("records:patient_detail", args=[admitted.patient_id])
    assert client.get(url).status_code == 403
    response = client.post(
        reverse("records:break_glass", args=[admitted.patient_id]), {"reason": "Covering the ward tonight"}
    )
    assert response.status_code == 302
    page = client.get(url)
    assert page.status_code == 200 and b"Break-glass access until" in page.content


def test_bad_registration_shows_the_error_summary_and_saves_nothing(client, clerk):
    before = Patient.objects.count()
    response = login(client, clerk).post(
        reverse("records:patient_register"),
        {"family_name": "Smith", "nhs_number": "999 000 1171", "sex": "male", "nhs_number_status": "02"},
    )
    assert response.status_code == 200
    assert b"There is a problem" in response.content and b"check digit is wrong" in response.content
    assert Patient.objects.count() == before


def test_stale_edit_through_the_page_is_refused(client, clerk, patient):
    login(client, clerk)
    data = {
        "family_name": "Smith",
        "sex": "male",
        "nhs_number": patient.nhs_number,
        "nhs_number_status": "01",
        "version": patient.version,
    }
    assert (
        client.post(reverse("records:patient_edit", args=[patient.pk]), {**data, "phone": "1"}).status_code
        == 302
    )
    response = client.post(reverse("records:patient_edit", args=[patient.pk]), {**data, "phone": "2"})
    assert b"Someone else changed this record" in response.content
    patient.refresh_from_db()
    assert patient.phone == "1"


def test_admit_through_the_page(client, clerk, patient, ward, bed, doctor):
    response = login(client, clerk).post(
        reverse("records:patient_admit", args=[patient.pk]),
        {
            "ward": ward.pk,
            "bed": bed.pk,
            "consultant": doctor.pk,
            "specialty": "300",
            "admission_method": "21",
        },
    )
    assert response.status_code == 302
    assert Encounter.objects.get(patient=patient).ward_stays.get().bed == bed


def _admit_many(ward, count, doctor, clerk):

    for _ in range(count):
        bed = BedFactory(bay__ward=ward)
        services.encounter_admit(
            admitted_by=clerk,
            patient=PatientFactory(),
            ward=ward,
            bed=bed,
            consultant=doctor,
            specialty="300",
            admission_method="21",
        )


def test_ward_list_query_count_is_constant(client, nurse, ward, doctor, clerk, django_assert_max_num_queries):
    login(client, nurse)
    _admit_many(ward, 3, doctor, clerk)
    # The whiteboard adds a fixed number: the care check (4) and NEWS2 twice, alerts, allergies, plans.
    with django_assert_max_num_queries(25):
        small = client.get(reverse("records:ward_list"))
    _admit_many(ward, 30, doctor, clerk)
    with django_assert_max_num_queries(25):
        large = client.get(reverse("records:ward_list"))
    assert small.status_code == large.status_code == 200
    assert len(re.findall(rb'href="/patients/\d+/"', large.content)) == 33


def test_search_query_count_is_constant(client, nurse, django_assert_max_num_queries):
    login(client, nurse)
    for _ in range(3):
        PatientFactory(family_name="Zoë-Ann Brown")
    with django_assert_max_num_queries(15):
        client.get(reverse("records:patient_search"), {"name": "zoe"})
    for _ in range(30):
        PatientFactory(family_name="Zoe Brown")
    with django_assert_max_num_queries(15):
        response = client.get(reverse("records:patient_search"), {"name": "ZOE"})
    assert response.content.count(b"No care relationship") == 33


def test_search_by_nhs_number_with_spaces_and_name_with_dob(client, clerk, patient):
    login(client, clerk)
    assert (
        patient.hospital_number.encode()
        in client.get(reverse("records:patient_search"), {"identifier": "999 000 0018"}).content
    )
    response = client.get(
        reverse("records:patient_search"),
        {
            "name": "SMI",
            "date_of_birth_day": patient.date_of_birth.day,
            "date_of_birth_month": patient.date_of_birth.month,
            "date_of_birth_year": patient.date_of_birth.year,
        },
    )
    assert patient.hospital_number.encode() in response.content
    assert AuditEvent.objects.filter(action=Action.SEARCH, username="clara").count() == 2


def test_doctor_lands_on_their_team_patients(client, doctor, admitted, django_assert_max_num_queries):
    login(client, doctor)
    assert client.get("/").url == reverse("records:my_patients")
    with django_assert_max_num_queries(20):
        response = client.get(reverse("records:my_patients"))
    assert admitted.patient.hospital_number.encode() not in response.content  # banner-free list
    assert admitted.patient.nhs_number_display.encode() in response.content


@pytest.mark.parametrize("version", ["", "abc", "1.5"])
def test_an_edit_without_a_sound_version_is_refused_not_saved(client, clerk, patient, version):
    data = {
        "family_name": "Smith",
        "sex": "male",
        "nhs_number": patient.nhs_number,
        "nhs_number_status": "01",
        "phone": "0113 496 0042",
        "version": version,
    }
    response = login(client, clerk).post(reverse("records:patient_edit", args=[patient.pk]), data)
    assert response.status_code == 200
    assert b"Someone else changed this record" in response.content
    patient.refresh_from_db()
    assert patient.phone != "0113 496 0042"


def test_access_log_and_break_glass_review_keep_queries_flat(
    client, admitted, manager, outsider, nurse, django_assert_max_num_queries
):

    login(client, manager)
    pages = [
        reverse("records:patient_access_log", args=[admitted.patient_id]),
        reverse("records:break_glass_review"),
    ]
    # The access log filters and pages (a count and the usernames) and the review audits its list.
    for url in pages:
        with django_assert_max_num_queries(15):
            client.get(url)
    for _ in range(15):
        record_services.break_glass_start(
            user=outsider, patient=admitted.patient, reason="Covering the ward tonight"
        )
        login(client, nurse).get(reverse("records:patient_detail", args=[admitted.patient_id]))
    login(client, manager)
    for url in pages:
        with django_assert_max_num_queries(15):
            assert client.get(url).status_code == 200
