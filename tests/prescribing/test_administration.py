"""Recording doses at the bedside (prescribing/services/administration.py): the closed loop refuses
the wrong patient, the wrong medicine, an expired pack and an early dose with a reason, records the
pack's batch, expiry and serial when all is well, never records one dose twice, and asks a witness for
a controlled drug."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from epr.accounts.roles import Role
from prescribing.models import Administration, AdministrationOutcome, PrescriptionKind
from prescribing.rules.doses import WARD_TIME
from prescribing.services import administration as services
from prescribing.services.verification import prescription_review
from records.errors import RecordError
from tests.factories import PatientFactory, UserFactory
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of


@pytest.fixture
def paracetamol(db):
    return product("Paracetamol 500mg tablets", "Paracetamol")


@pytest.fixture
def gtin(paracetamol):
    return pack(paracetamol, 1)


def _due_today(hour: int) -> datetime:
    return datetime.combine(timezone.localdate(), time(hour), tzinfo=WARD_TIME)


@pytest.fixture
def order(admitted, doctor, paracetamol, pharmacist):
    prescription = prescribe(doctor, admitted.patient, paracetamol, times_of_day=["08:00", "12:00"])
    prescription_review(by=pharmacist, prescription=prescription, action="verified")
    prescription.refresh_from_db()
    return prescription


def give(nurse, prescription, *, wristband=None, pack_scan="", due=None, now=None, **kwargs):
    due = due or _due_today(8)
    return services.administration_give(
        given_by=nurse,
        prescription=prescription,
        due_at=due,
        wristband=prescription.patient.nhs_number if wristband is None else wristband,
        pack=pack_scan,
        now=now or due + timedelta(minutes=5),
        **kwargs,
    )


def test_a_dose_scanned_right_is_recorded_with_batch_expiry_and_serial(nurse, order, gtin):
    given = give(nurse, order, pack_scan=scan_of(gtin))
    assert given.outcome == AdministrationOutcome.GIVEN
    assert (given.gtin, given.batch, given.serial) == (gtin, "AB12", "SER1")
    assert given.expiry.isoformat() == "2030-12-31"
    assert given.wristband_scanned and given.pack_scanned and not given.overrides


def test_the_wrong_wristband_is_refused_and_cannot_be_overridden(nurse, order, gtin):
    other = PatientFactory()
    with pytest.raises(services.AdministrationRefused) as refused:
        give(
            nurse,
            order,
            wristband=other.nhs_number,
            pack_scan=scan_of(gtin),
            overrides={"wrong-patient": "sure"},
        )
    assert refused.value.refusals[0].code == "wrong-patient"
    assert not refused.value.refusals[0].overridable
    assert not Administration.objects.exists()


def test_an_expired_pack_is_refused(nurse, order, gtin):
    with pytest.raises(services.AdministrationRefused) as refused:
        give(nurse, order, pack_scan=scan_of(gtin, expiry="200100"))
    assert [r.code for r in refused.value.refusals] == ["expired"]
    assert not Administration.objects.exists()


def test_another_medicine_is_refused_until_a_reason_is_given(nurse, order, db):
    other = pack(product("Ibuprofen 400mg tablets", "Ibuprofen"), 2)
    with pytest.raises(services.AdministrationRefused) as refused:
        give(nurse, order, pack_scan=scan_of(other))
    assert [r.code for r in refused.value.refusals] == ["not-prescribed"]
    given = give(nurse, order, pack_scan=scan_of(other), overrides={"not-prescribed": "Pharmacy confirmed"})
    assert given.overrides[0]["reason"] == "Pharmacy confirmed"


def test_a_dose_before_its_window_is_refused_with_when_it_may_be_given(nurse, order, gtin):
    due = _due_today(12)
    with pytest.raises(services.AdministrationRefused) as refused:
        give(nurse, order, pack_scan=scan_of(gtin), due=due, now=due - timedelta(minutes=61))
    assert refused.value.refusals[0].code == "not-due"
    assert "11:00" in refused.value.refusals[0].message
    give(
        nurse, order, pack_scan=scan_of(gtin), due=due, now=due - timedelta(minutes=60)
    )  # the edge is on time


def test_a_time_that_is_not_a_due_time_is_refused(nurse, order, gtin):
    with pytest.raises(RecordError, match="not one of this prescription's due times"):
        give(nurse, order, pack_scan=scan_of(gtin), due=_due_today(9))


def test_a_dose_is_recorded_once_and_the_second_is_told_who_gave_it(nurse, order, gtin):
    give(nurse, order, pack_scan=scan_of(gtin))
    with pytest.raises(services.AlreadyRecorded, match=f"already given by {nurse.get_full_name()} at 08:05"):
        give(nurse, order, pack_scan=scan_of(gtin))
    assert Administration.objects.count() == 1


def test_a_stopped_prescription_is_refused(nurse, doctor, order, gtin):
    from prescribing.services.prescriptions import prescription_stop

    prescription_stop(stopped_by=doctor, prescription=order, reason="Not needed")
    order.refresh_from_db()
    with pytest.raises(services.AdministrationRefused) as refused:
        give(nurse, order, pack_scan=scan_of(gtin))
    assert refused.value.refusals[0].code == "not-active"


def test_an_unverified_prescription_allows_the_first_dose_only(nurse, admitted, doctor, paracetamol, gtin):
    prescription = prescribe(doctor, admitted.patient, paracetamol, times_of_day=["08:00", "12:00"])
    first = give(nurse, prescription, pack_scan=scan_of(gtin))
    assert first.given_unverified
    with pytest.raises(services.AdministrationRefused) as refused:
        give(nurse, prescription, pack_scan=scan_of(gtin), due=_due_today(12))
    assert refused.value.refusals[0].code == "not-verified"


def test_an_as_required_dose_inside_its_interval_is_refused(
    nurse, admitted, doctor, pharmacist, paracetamol, gtin
):
    prn = prescribe(
        doctor,
        admitted.patient,
        paracetamol,
        kind=PrescriptionKind.AS_REQUIRED,
        times_of_day=[],
        min_interval_minutes=240,
        max_doses_in_24_hours=4,
    )
    prescription_review(by=pharmacist, prescription=prn, action="verified")
    prn.refresh_from_db()
    now = timezone.now()
    give(nurse, prn, pack_scan=scan_of(gtin), due=None, now=now - timedelta(hours=3))
    with pytest.raises(services.AdministrationRefused) as refused:
        give(nurse, prn, pack_scan=scan_of(gtin), due=None, now=now)
    assert refused.value.refusals[0].code == "as-required-limit"


def test_not_given_needs_a_reason_from_the_list(nurse, order):
    with pytest.raises(RecordError, match="Choose why"):
        services.administration_not_given(
            recorded_by=nurse, prescription=order, due_at=_due_today(8), reason="bored"
        )
    record = services.administration_not_given(
        recorded_by=nurse, prescription=order, due_at=_due_today(8), reason="refused"
    )
    assert record.outcome == AdministrationOutcome.NOT_GIVEN


def test_a_controlled_drug_needs_a_witness_other_than_the_giver(nurse, admitted, doctor, db):
    oxycodone = product("Oxycodone 5mg capsules", "Oxycodone")
    oxycodone.controlled_drug_category = "0002"
    oxycodone.save()
    cd_gtin = pack(oxycodone, 3)
    prescription = prescribe(
        doctor,
        admitted.patient,
        oxycodone,
        dose_value=Decimal("5"),
        times_of_day=["08:00"],
        indication="Pain",
    )
    with pytest.raises(RecordError, match="second registered person"):
        give(nurse, prescription, pack_scan=scan_of(cd_gtin))
    with pytest.raises(RecordError, match="someone other"):
        give(nurse, prescription, pack_scan=scan_of(cd_gtin), witness=nurse)
    clerk = UserFactory(role=Role.WARD_CLERK)
    with pytest.raises(RecordError, match="may not witness"):
        give(nurse, prescription, pack_scan=scan_of(cd_gtin), witness=clerk)
    second_nurse = UserFactory(role=Role.NURSE)
    given = give(nurse, prescription, pack_scan=scan_of(cd_gtin), witness=second_nurse)
    assert given.witness == second_nurse


@pytest.mark.django_db(transaction=True)
def test_two_nurses_scanning_one_dose_at_once_record_it_once(nurse, order, gtin):
    other = UserFactory(role=Role.NURSE, first_name="Second")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def scan(user):
        try:
            barrier.wait()
            give(user, order, pack_scan=scan_of(gtin))
            outcomes.append("given")
        except services.AlreadyRecorded as repeat:
            outcomes.append(repeat.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan, args=(u,)) for u in (nurse, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[1] == "given" or outcomes.count("given") == 1
    assert outcomes.count("given") == 1
    assert any("already given by" in o for o in outcomes)
    assert Administration.objects.filter(prescription=order).count() == 1
