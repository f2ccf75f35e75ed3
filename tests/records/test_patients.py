"""Registration, demographic edits, stale saves, history and rollback."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection

from records import services
from records.errors import RecordError, StaleEdit
from records.models import NHSNumberStatus, Patient, PatientStatus
from tests.factories import PatientFactory


def test_register_checks_and_normalises_the_nhs_number(clerk):
    patient = services.patient_register(
        registered_by=clerk, family_name="Núñez", given_names="José", nhs_number="999 000 1170"
    )
    assert patient.nhs_number == "9990001170"
    assert patient.hospital_number.startswith("H")
    assert patient.family_name_key == "nunez"
    assert patient.nhs_number_status == NHSNumberStatus.NOT_TRACED


def test_register_refuses_an_invalid_nhs_number_and_saves_nothing(clerk):
    before = Patient.objects.count()
    with pytest.raises(RecordError, match="check digit is wrong") as exc:
        services.patient_register(registered_by=clerk, family_name="Smith", nhs_number="9990001171")
    assert exc.value.field == "nhs_number"
    assert Patient.objects.count() == before


def test_nhs_number_is_unique_among_active_patients(patient, clerk):
    with pytest.raises(RecordError, match="already belongs to"):
        services.patient_register(registered_by=clerk, family_name="Smith", nhs_number=patient.nhs_number)


def test_an_archived_record_does_not_block_its_nhs_number(patient, clerk, admin_user):
    services.patient_archive(archived_by=admin_user, patient=patient, reason="Registered in error")
    again = services.patient_register(registered_by=clerk, family_name="Smith", nhs_number=patient.nhs_number)
    assert again.status == PatientStatus.ACTIVE


def test_database_refuses_a_second_active_record_with_the_same_number(patient):
    with pytest.raises(Exception, match="patient_nhs_number_unique_among_active"):
        PatientFactory(nhs_number=patient.nhs_number)


def test_unknown_patient_gets_a_temporary_identity(clerk):
    patient = services.patient_register(registered_by=clerk, temporary_identity=True, sex="male")
    assert patient.family_name == "UNKNOWN"
    assert patient.nhs_number == ""
    assert patient.nhs_number_status == NHSNumberStatus.TRACE_REQUIRED
    traced = services.patient_update(
        updated_by=clerk,
        patient=patient,
        expected_version=patient.version,
        changes={
            "family_name": "Doe",
            "given_names": "Jane",
            "nhs_number": "9990000018",
            "nhs_number_status": "01",
            "temporary_identity": False,
        },
    )
    assert traced.temporary_identity is False and traced.nhs_number == "9990000018"


def test_future_date_of_birth_is_refused(clerk):

    with pytest.raises(RecordError, match="Date of birth"):
        services.patient_register(
            registered_by=clerk, family_name="Smith", date_of_birth=date.today() + timedelta(days=2)
        )


def test_a_stale_save_is_refused_and_changes_nothing(patient, clerk, nurse):
    opened_version = patient.version
    services.patient_update(
        updated_by=clerk, patient=patient, expected_version=opened_version, changes={"phone": "0113 496 0000"}
    )
    with pytest.raises(StaleEdit):
        services.patient_update(
            updated_by=nurse,
            patient=patient,
            expected_version=opened_version,
            changes={"phone": "0113 496 9999"},
        )
    patient.refresh_from_db()
    assert patient.phone == "0113 496 0000"
    assert patient.version == opened_version + 1


def test_every_change_is_in_history_and_rollback_is_a_new_version(patient, clerk, admin_user):
    services.patient_update(
        updated_by=clerk, patient=patient, expected_version=1, changes={"postcode": "ls1 4ap"}
    )
    services.patient_update(
        updated_by=clerk, patient=patient, expected_version=2, changes={"family_name": "Smyth"}
    )
    original = patient.history.order_by("history_date").first()

    rolled = services.patient_rollback(
        rolled_back_by=admin_user, patient=patient, history_id=original.history_id, expected_version=3
    )

    assert rolled.family_name == "Smith" and rolled.postcode == original.postcode
    assert rolled.version == 4
    assert patient.history.count() == 4
    assert patient.history.first().history_change_reason == "Rolled back to version 1"


def test_concurrent_edits_from_two_connections_never_overwrite(transactional_db, clerk, nurse):
    """Two sessions read version 1; both save. The second is refused by the version check under lock."""

    patient = PatientFactory()
    results: list[str] = []
    barrier = threading.Barrier(2)

    def edit(user, phone):
        try:
            barrier.wait()
            services.patient_update(
                updated_by=user, patient=patient, expected_version=1, changes={"phone": phone}
            )
            results.append("saved")
        except StaleEdit:
            results.append("stale")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(u, p)) for u, p in ((clerk, "111"), (nurse, "222"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["saved", "stale"]
    patient.refresh_from_db()
    assert patient.version == 2
