"""Care relationships granted and withdrawn by services; break-glass; the audit trail."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records import services
from records.access import Level, open_record, patient_access
from records.errors import NoRelationship, RecordError
from records.selectors import patients as selectors
from records.tasks import withdraw_ended_care_relationships
from tests.factories import PatientFactory


def test_ward_staff_and_team_get_access_on_admission(
    admitted, nurse, colleague, doctor, outsider, pharmacist
):
    patient = admitted.patient
    assert patient_access(nurse, patient).level == Level.CLINICAL
    assert patient_access(colleague, patient).level == Level.CLINICAL
    assert patient_access(doctor, patient).via == "care"  # through the treating team
    assert patient_access(outsider, patient).level == Level.NONE
    assert patient_access(pharmacist, patient).level == Level.NONE


def test_clerks_and_managers_see_demographics_only(admitted, clerk, manager):
    assert patient_access(clerk, admitted.patient).level == Level.DEMOGRAPHIC
    assert patient_access(manager, admitted.patient).level == Level.DEMOGRAPHIC


def test_transfer_moves_access_to_the_new_ward_after_a_grace_period(
    admitted, nurse, outsider, other_ward, other_bed, clerk
):
    services.encounter_transfer(transferred_by=clerk, encounter=admitted, ward=other_ward, bed=other_bed)
    patient = admitted.patient
    assert patient_access(outsider, patient).level == Level.CLINICAL
    assert patient_access(nurse, patient).level == Level.CLINICAL  # grace period for handover

    withdraw_ended_care_relationships.run()  # nothing due yet
    assert patient_access(nurse, patient).level == Level.CLINICAL

    later = timezone.now() + timedelta(hours=25)
    assert services.withdraw_ended_care_relationships(now=later) == 1
    assert patient_access(nurse, patient).level == Level.NONE
    assert patient_access(outsider, patient).level == Level.CLINICAL
    assert services.withdraw_ended_care_relationships(now=later) == 0  # idempotent


def test_discharge_withdraws_everyone_after_the_grace_period(admitted, nurse, doctor, clerk):
    services.encounter_discharge(discharged_by=clerk, encounter=admitted, destination="19")
    services.withdraw_ended_care_relationships(now=timezone.now() + timedelta(hours=25))
    assert patient_access(nurse, admitted.patient).level == Level.NONE
    assert patient_access(doctor, admitted.patient).level == Level.NONE


def test_a_bed_cannot_be_given_twice(admitted, bed, doctor, clerk):

    with pytest.raises(RecordError, match="occupied"):
        services.encounter_admit(
            admitted_by=clerk,
            patient=PatientFactory(),
            ward=bed.ward,
            bed=bed,
            consultant=doctor,
            specialty="300",
            admission_method="21",
        )


def test_a_patient_cannot_be_admitted_twice(admitted, second_bed, doctor, clerk):
    with pytest.raises(RecordError, match="already admitted"):
        services.encounter_admit(
            admitted_by=clerk,
            patient=admitted.patient,
            ward=second_bed.ward,
            bed=second_bed,
            consultant=doctor,
            specialty="300",
            admission_method="21",
        )


def test_break_glass_gives_time_limited_access_and_is_audited(admitted, outsider):
    patient = admitted.patient
    services.withdraw_ended_care_relationships()
    with pytest.raises(NoRelationship):
        selectors.patient_for_user(outsider, patient.pk)
    assert AuditEvent.objects.filter(patient_id=patient.pk, username="charlie", action=Action.DENIED).exists()

    with pytest.raises(RecordError, match="at least 10"):
        services.break_glass_start(user=outsider, patient=patient, reason="need")
    glass = services.break_glass_start(
        user=outsider, patient=patient, reason="Cardiac arrest call on my ward"
    )

    opened = selectors.patient_for_user(outsider, patient.pk)
    assert opened.access.via == "break_glass"
    view = AuditEvent.objects.filter(patient_id=patient.pk, username="charlie", action=Action.VIEW).get()
    assert view.break_glass_reason == "Cardiac arrest call on my ward"

    glass.expires_at = timezone.now() - timedelta(seconds=1)
    glass.save(update_fields=["expires_at"])
    with pytest.raises(NoRelationship):
        selectors.patient_for_user(outsider, patient.pk)


def test_audit_rows_cannot_be_changed_or_deleted_even_with_sql(admitted):
    event = AuditEvent.objects.filter(patient_id=admitted.patient_id).first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    for statement in (AuditEvent.objects.filter(pk=event.pk).update,):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement(action="view")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk, action=Action.ADMIT).exists()


def test_writes_are_audited_with_the_actor(admitted, clerk):
    event = AuditEvent.objects.get(patient_id=admitted.patient_id, action=Action.ADMIT)
    assert event.username == "clara" and event.role == "clerk"
    assert event.object_type == "records.Encounter"


# The one door (records.access.open_record) ---------------------------------------------------------


def test_the_door_audits_an_opening_and_a_refusal_alike_for_every_surface(admitted, nurse, outsider):

    patient = admitted.patient
    assert open_record(nurse, patient, minimum=Level.CLINICAL).via == "care"
    with pytest.raises(NoRelationship):
        open_record(outsider, patient, minimum=Level.CLINICAL, audit_action=None)
    assert open_record(None, patient, audit_action=None).via == "system"  # a system API client
    rows = list(AuditEvent.objects.filter(patient_id=patient.pk).values_list("username", "action"))
    assert ("alice", Action.VIEW) in rows and ("charlie", Action.DENIED) in rows
    assert ("", Action.VIEW) not in rows  # audit_action=None: the caller audits what it reads
