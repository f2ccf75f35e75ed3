"""Merge then unmerge restores both records exactly; link and archive."""

import pytest
from django.forms.models import model_to_dict

from records import services
from records.access import Level, patient_access
from records.errors import RecordError
from records.models import CareRelationship, Encounter, Patient, PatientStatus, WardStay
from tests.factories import PatientFactory


def snapshot(patient: Patient) -> dict:
    patient.refresh_from_db()
    return {
        "fields": model_to_dict(patient, exclude=["id"]),
        "encounters": sorted(Encounter.objects.filter(patient=patient).values_list("pk", flat=True)),
        "relationships": sorted(
            CareRelationship.objects.filter(patient=patient).values_list("pk", flat=True)
        ),
    }


@pytest.fixture
def duplicate(db, ward, second_bed, doctor, clerk):
    """The same John Smith registered twice; the duplicate has a finished admission of its own."""
    dup = PatientFactory(family_name="Smith", given_names="Jon", nhs_number="")
    encounter = services.encounter_admit(
        admitted_by=clerk,
        patient=dup,
        ward=ward,
        bed=second_bed,
        consultant=doctor,
        specialty="300",
        admission_method="21",
    )
    services.encounter_discharge(discharged_by=clerk, encounter=encounter, destination="19")
    return dup


def test_merge_moves_every_row_and_unmerge_restores_exactly(admitted, duplicate, admin_user):
    survivor = admitted.patient
    before_survivor, before_duplicate = snapshot(survivor), snapshot(duplicate)

    merge = services.patients_merge(
        merged_by=admin_user, survivor=survivor, duplicate=duplicate, reason="Same person"
    )

    merged = snapshot(duplicate)
    assert merged["fields"]["status"] == PatientStatus.MERGED
    assert merged["encounters"] == [] and merged["relationships"] == []
    assert snapshot(survivor)["encounters"] == sorted(
        before_survivor["encounters"] + before_duplicate["encounters"]
    )
    assert merge.moved_rows["records.Encounter:patient"] == before_duplicate["encounters"]

    services.patient_unmerge(unmerged_by=admin_user, merge=merge, reason="Different people after all")

    after_survivor, after_duplicate = snapshot(survivor), snapshot(duplicate)
    assert after_survivor["encounters"] == before_survivor["encounters"]
    assert after_survivor["relationships"] == before_survivor["relationships"]
    assert after_duplicate["encounters"] == before_duplicate["encounters"]
    assert after_duplicate["relationships"] == before_duplicate["relationships"]
    for key in ("status", "merged_into", "family_name", "given_names", "nhs_number", "date_of_birth"):
        assert after_duplicate["fields"][key] == before_duplicate["fields"][key]
        assert after_survivor["fields"][key] == before_survivor["fields"][key]


def test_rows_added_to_survivor_after_merge_stay_there(
    patient, duplicate, admin_user, ward, bed, doctor, clerk
):
    merge = services.patients_merge(
        merged_by=admin_user, survivor=patient, duplicate=duplicate, reason="Same"
    )
    later = services.encounter_admit(
        admitted_by=clerk,
        patient=patient,
        ward=ward,
        bed=bed,
        consultant=doctor,
        specialty="300",
        admission_method="21",
    )
    services.patient_unmerge(unmerged_by=admin_user, merge=merge, reason="Wrong")
    later.refresh_from_db()
    assert later.patient_id == patient.pk


def test_merge_history_is_kept(admitted, duplicate, admin_user):
    services.patients_merge(
        merged_by=admin_user, survivor=admitted.patient, duplicate=duplicate, reason="Same"
    )
    reasons = list(duplicate.history.values_list("history_change_reason", flat=True))
    assert any(r and r.startswith("Merged into") for r in reasons)


def test_unmerge_twice_is_refused(patient, duplicate, admin_user):
    merge = services.patients_merge(
        merged_by=admin_user, survivor=patient, duplicate=duplicate, reason="Same"
    )
    services.patient_unmerge(unmerged_by=admin_user, merge=merge, reason="Wrong")
    with pytest.raises(RecordError, match="already been undone"):
        services.patient_unmerge(unmerged_by=admin_user, merge=merge, reason="Again")


def test_records_with_different_nhs_numbers_cannot_merge(patient, admin_user):
    other = PatientFactory()
    with pytest.raises(RecordError, match="different NHS numbers"):
        services.patients_merge(merged_by=admin_user, survivor=patient, duplicate=other, reason="Same")


def test_two_current_admissions_block_a_merge(admitted, ward, second_bed, doctor, clerk, admin_user):
    dup = PatientFactory(nhs_number="")
    services.encounter_admit(
        admitted_by=clerk,
        patient=dup,
        ward=ward,
        bed=second_bed,
        consultant=doctor,
        specialty="300",
        admission_method="21",
    )
    with pytest.raises(RecordError, match="current admission"):
        services.patients_merge(merged_by=admin_user, survivor=admitted.patient, duplicate=dup, reason="Same")
    assert WardStay.objects.filter(ended_at__isnull=True).count() == 2


def test_merged_patients_care_access_follows_the_rows(duplicate, patient, admin_user, nurse):

    # The duplicate's discharge left a grace-period relationship with Ward 7 staff.
    assert patient_access(nurse, duplicate).level == Level.CLINICAL
    services.patients_merge(merged_by=admin_user, survivor=patient, duplicate=duplicate, reason="Same")
    assert patient_access(nurse, Patient.objects.get(pk=patient.pk)).level == Level.CLINICAL
    assert patient_access(nurse, Patient.objects.get(pk=duplicate.pk)).level == Level.NONE


def test_link_and_archive(patient, admin_user):
    other = PatientFactory()
    link = services.patients_link(
        linked_by=admin_user, patient=patient, other=other, reason="Same person, MH record"
    )
    assert {link.first_id, link.second_id} == {patient.pk, other.pk}
    with pytest.raises(RecordError, match="already linked"):
        services.patients_link(linked_by=admin_user, patient=other, other=patient, reason="Again please")
    archived = services.patient_archive(archived_by=admin_user, patient=other, reason="Test record")
    assert archived.status == PatientStatus.ARCHIVED
    assert Patient.objects.filter(pk=other.pk).exists()


def test_an_inpatient_cannot_be_archived(admitted, admin_user):
    with pytest.raises(RecordError, match="in hospital"):
        services.patient_archive(archived_by=admin_user, patient=admitted.patient, reason="Tidy up")


def test_no_clinical_entry_can_be_added_to_a_merged_record(patient, duplicate, admin_user, nurse, doctor):
    services.patients_merge(merged_by=admin_user, survivor=patient, duplicate=duplicate, reason="Same")
    duplicate.refresh_from_db()
    writes = [
        lambda: services.observation_set_record(recorded_by=nurse, patient=duplicate, pulse=80),
        lambda: services.allergy_record(recorded_by=nurse, patient=duplicate, substance_text="Plasters"),
        lambda: services.allergy_record_none_known(recorded_by=nurse, patient=duplicate),
        lambda: services.problem_record(recorded_by=doctor, patient=duplicate, snomed_code="233604007"),
        lambda: services.spo2_scale_set(set_by=doctor, patient=duplicate, scale=2, reason="Type 2 RF on gas"),
    ]
    for write in writes:
        with pytest.raises(RecordError, match=f"merged into {patient.hospital_number}"):
            write()


def test_rollback_is_refused_on_an_archived_record(patient, admin_user, clerk):
    services.patient_update(updated_by=clerk, patient=patient, expected_version=1, changes={"phone": "1"})
    archived = services.patient_archive(archived_by=admin_user, patient=patient, reason="Test record")
    first = patient.history.order_by("history_date").first()
    with pytest.raises(RecordError, match="merged or archived"):
        services.patient_rollback(
            rolled_back_by=admin_user,
            patient=archived,
            history_id=first.history_id,
            expected_version=archived.version,
        )
