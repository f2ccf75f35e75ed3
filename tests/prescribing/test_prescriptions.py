"""Writing and stopping prescriptions (prescribing/services/prescriptions.py): the checks a prescriber
must answer, what is kept of the answers, the shapes each kind needs, and that a prescription is
changed only by stopping it and writing another."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from epr.accounts.roles import Role
from epr.audit.models import AuditEvent
from prescribing.models import Prescription, PrescriptionCheck, PrescriptionKind, PrescriptionStatus
from prescribing.services.prescriptions import (
    ChecksNeedAnswers,
    findings_for,
    prescription_create,
    prescription_replace,
    prescription_stop,
)
from records import services as records
from records.errors import RecordError, StaleEdit
from records.models import Patient, PatientStatus
from records.registries.subject_access import sections
from tests.factories import PatientFactory, UserFactory
from tests.factories.prescribing import product


@pytest.fixture
def flucloxacillin(db):
    return product("Flucloxacillin 500mg capsules", "Flucloxacillin")


@pytest.fixture
def paracetamol(db):
    return product("Paracetamol 500mg tablets", "Paracetamol")


def regular(doctor, patient, vmp, **kwargs):
    values = {
        "prescribed_by": doctor,
        "patient": patient,
        "vmp": vmp,
        "kind": PrescriptionKind.REGULAR,
        "dose_value": Decimal("1000"),
        "dose_unit": "mg",
        "route": "Oral",
        "times_of_day": ["08:00", "12:00", "18:00", "22:00"],
        "indication": "Cellulitis",
        "review_on": timezone.localdate() + timedelta(days=2),
    }
    return prescription_create(**{**values, **kwargs})


def test_a_penicillin_allergy_stops_the_prescription_until_answered(admitted, doctor, nurse, flucloxacillin):
    patient = admitted.patient
    records.allergy_record(recorded_by=nurse, patient=patient, substance_text="Penicillin", kind="allergy")
    with pytest.raises(ChecksNeedAnswers) as refused:
        regular(doctor, patient, flucloxacillin)
    (pending,) = refused.value.pending
    assert pending.finding.severity == "high" and "is also a penicillin" in pending.finding.message
    assert not Prescription.objects.exists()
    with pytest.raises(ChecksNeedAnswers):
        regular(doctor, patient, flucloxacillin, answers={pending.key: "   "})  # a blank reason is none
    written = regular(
        doctor, patient, flucloxacillin, answers={pending.key: "Rash as a child; tolerated since"}
    )
    (kept,) = PrescriptionCheck.objects.filter(prescription=written)
    assert (kept.outcome, kept.reason, kept.decided_by) == (
        "overridden",
        "Rash as a child; tolerated since",
        doctor,
    )
    assert AuditEvent.objects.filter(object_id=str(written.pk), action="create").exists()


def test_an_allergy_entered_in_error_no_longer_stops_it(admitted, doctor, nurse, flucloxacillin):
    allergy = records.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_text="Penicillin", kind="allergy"
    )
    records.entry_mark_error(marked_by=nurse, entry=allergy, reason="Wrong patient")
    assert regular(doctor, admitted.patient, flucloxacillin).checks.count() == 0


def test_the_same_medicine_twice_is_a_duplicate_to_answer(admitted, doctor, paracetamol):
    regular(doctor, admitted.patient, paracetamol, review_on=None, indication="")
    with pytest.raises(ChecksNeedAnswers) as refused:
        regular(doctor, admitted.patient, paracetamol, review_on=None, indication="")
    assert refused.value.pending[0].finding.kind == "duplicate"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dose_value": Decimal("0")}, "dose_value"),
        ({"times_of_day": []}, "times_of_day"),
        ({"times_of_day": ["8am"]}, "times_of_day"),
        ({"times_of_day": ["24:00"]}, "times_of_day"),
        ({"indication": ""}, "indication"),  # an antimicrobial
        ({"review_on": None}, "review_on"),  # an antimicrobial without a review or stop date
    ],
)
def test_what_each_prescription_needs(admitted, doctor, flucloxacillin, changes, field):
    with pytest.raises(RecordError) as refused:
        regular(doctor, admitted.patient, flucloxacillin, **changes)
    assert field in refused.value.errors
    assert not Prescription.objects.exists()


def test_an_as_required_prescription_needs_its_indication_and_a_limit(admitted, doctor, paracetamol):
    base = {"kind": PrescriptionKind.AS_REQUIRED, "times_of_day": [], "review_on": None}
    with pytest.raises(RecordError) as refused:
        regular(doctor, admitted.patient, paracetamol, **base, indication="")
    assert set(refused.value.errors) == {"indication", "min_interval_minutes"}
    written = regular(
        doctor,
        admitted.patient,
        paracetamol,
        **base,
        indication="Pain",
        min_interval_minutes=240,
        max_doses_in_24_hours=4,
    )
    assert (written.kind, written.times_of_day) == ("as-required", [])


def test_a_prescription_changes_by_stopping_it_and_writing_the_next(admitted, doctor, paracetamol):
    first = regular(doctor, admitted.patient, paracetamol, review_on=None, indication="")
    second = prescription_replace(
        prescribed_by=doctor,
        prescription=first,
        reason="Dose reduced: weight 45 kg",
        expected_version=1,
        vmp=paracetamol,
        kind=PrescriptionKind.REGULAR,
        dose_value=Decimal("500"),
        dose_unit="mg",
        route="Oral",
        times_of_day=["08:00", "20:00"],
    )
    first.refresh_from_db()
    assert (first.status, first.stop_reason, first.stopped_by) == (
        "stopped",
        "Dose reduced: weight 45 kg",
        doctor,
    )
    assert second.replaces == first and second.status == "active" and second.checks.count() == 0
    assert first.history.count() == 2


def test_a_stop_from_a_stale_page_or_twice_is_refused(admitted, doctor, paracetamol):
    written = regular(doctor, admitted.patient, paracetamol, review_on=None, indication="")
    with pytest.raises(StaleEdit):
        prescription_stop(stopped_by=doctor, prescription=written, reason="Not needed", expected_version=7)
    with pytest.raises(RecordError, match="reason"):
        prescription_stop(stopped_by=doctor, prescription=written, reason=" ")
    prescription_stop(stopped_by=doctor, prescription=written, reason="Not needed", expected_version=1)
    with pytest.raises(RecordError, match="already stopped"):
        prescription_stop(stopped_by=doctor, prescription=written, reason="Again")
    assert Prescription.objects.get().status == PrescriptionStatus.STOPPED


def test_a_merged_record_takes_no_prescription(doctor, paracetamol, patient):
    survivor = PatientFactory()
    Patient.objects.filter(pk=patient.pk).update(status=PatientStatus.MERGED, merged_into=survivor)
    with pytest.raises(RecordError, match=f"merged into {survivor.hospital_number}"):
        regular(doctor, patient, paracetamol, review_on=None, indication="")
    assert not Prescription.objects.exists()


def test_prescriptions_are_in_the_subject_access_export(admitted, doctor, nurse, flucloxacillin):
    records.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_text="Penicillin", kind="allergy"
    )
    with pytest.raises(ChecksNeedAnswers) as refused:
        regular(doctor, admitted.patient, flucloxacillin)
    regular(
        doctor, admitted.patient, flucloxacillin, answers={refused.value.pending[0].key: "Tolerated before"}
    )
    medicines = {s.key: s for s in sections()}["medicines"]
    (entry,) = medicines.collect(admitted.patient)
    assert entry.details["Medicine"] == "Flucloxacillin 500mg capsules"
    assert entry.rows[0]["Reason"] == "Tolerated before"


@pytest.mark.django_db(transaction=True)
def test_two_prescribers_at_once_cannot_both_miss_the_duplicate(admitted, doctor, paracetamol):
    """Each writes paracetamol at the same moment on their own connection: the lock on the patient
    makes the second see the first, so one is saved and the other is asked about the duplicate."""
    other = UserFactory(username="drtwo", role=Role.DOCTOR)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def prescribe(user):
        try:
            barrier.wait()
            regular(user, admitted.patient, paracetamol, review_on=None, indication="")
            results.append("saved")
        except ChecksNeedAnswers as refused:
            results.append(refused.pending[0].finding.kind)
        finally:
            connection.close()

    threads = [threading.Thread(target=prescribe, args=(user,)) for user in (doctor, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["duplicate", "saved"]
    assert Prescription.objects.filter(patient=admitted.patient).count() == 1


def test_the_checks_read_the_same_number_of_queries_however_many_prescriptions(
    admitted, doctor, paracetamol, django_assert_num_queries
):
    regular(doctor, admitted.patient, paracetamol, review_on=None, indication="")
    with CaptureQueriesContext(connection) as one:
        findings_for(admitted.patient, paracetamol)
    for i in range(4):
        other = product(f"Medicine {i} 10mg tablets", f"Ingredient {i}")
        regular(doctor, admitted.patient, other, review_on=None, indication="")
    with django_assert_num_queries(len(one)):
        findings_for(admitted.patient, paracetamol)


def test_the_latest_kidney_function_a_provider_knows_raises_the_renal_warning(admitted, doctor):
    from records.registries import results

    metformin = product("Metformin 500mg tablets", "Metformin hydrochloride")

    def egfr(patient):
        return results.LatestResult(results.EGFR, Decimal("25"), "mL/min/1.73m2", timezone.now())

    results.register_result_provider(results.EGFR, egfr)
    try:
        (pending,) = findings_for(admitted.patient, metformin)
        assert pending.finding.kind == "renal" and "eGFR on" in pending.finding.message
        assert "was 25" in pending.finding.message and "Avoid" in pending.finding.message
    finally:
        results._providers[results.EGFR].remove(egfr)
    assert findings_for(admitted.patient, metformin) == []  # nothing known, nothing to check against
