"""The bedside checks (prescribing/rules/administration.py): the wristband, the pack against the
prescription, expiry at its boundary, the time, and which refusals a nurse may override."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from prescribing.rules.administration import (
    Order,
    Product,
    pack_refusals,
    time_refusal,
    wristband_identifier,
    wristband_refusal,
)
from prescribing.rules.doses import WARD_TIME, AsRequired, Window
from prescribing.rules.gs1 import PackScan


def ward(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARD_TIME)


PATIENT = {"nhs_number": "9990000018", "hospital_number": "RXX0012345", "name": "John SMITH"}
TODAY = date(2026, 12, 1)
AMOXICILLIN_500 = Product("2001", "Amoxicillin 500mg capsules", "4001", "Amoxil 500mg capsules", "1001")
AMOXICILLIN_250 = Product("2002", "Amoxicillin 250mg capsules", "4002", "Amoxil 250mg capsules", "1001")
PARACETAMOL = Product("2003", "Paracetamol 500mg tablets", "4003", "Panadol 500mg tablets", "1002")
ORDER = Order("2001", "Amoxicillin 500mg capsules", "1001", "", "", active=True, stopped_reason="")


def pack(expiry=date(2027, 6, 30)):
    return PackScan(gtin="05012345678900", expiry=expiry, batch="AB12")


@pytest.mark.parametrize(
    "scanned",
    ["9990000018", "999 000 0018", "]C09990000018\r\n", "RXX0012345", "rxx0012345", "]C0RXX0012345"],
)
def test_the_patients_own_wristband_by_either_number(scanned):
    assert wristband_refusal(scanned, **PATIENT) is None


@pytest.mark.parametrize("scanned", ["9990000026", "RXX0012346", "999000001"])
def test_another_wristband_is_refused_and_never_overridden(scanned):
    refusal = wristband_refusal(scanned, **PATIENT)
    assert refusal is not None and refusal.code == "wrong-patient" and not refusal.overridable
    assert "not John SMITH's" in refusal.message


def test_no_wristband_scanned():
    refusal = wristband_refusal("  \r\n", **PATIENT)
    assert refusal is not None and refusal.code == "no-wristband"


def test_a_patient_without_a_hospital_number_is_not_matched_by_an_empty_scan():
    assert wristband_refusal("", nhs_number="9990000018", hospital_number="", name="X") is not None
    assert wristband_identifier("]d2 999-000-0018") == "9990000018"


def test_the_right_pack_passes():
    assert pack_refusals(pack(), AMOXICILLIN_500, ORDER, today=TODAY) == []


@pytest.mark.parametrize(
    ("expiry", "refused"),
    [(TODAY - timedelta(days=1), True), (TODAY, False), (TODAY + timedelta(days=1), False), (None, False)],
)
def test_an_expired_pack_is_a_hard_stop_and_expiry_day_itself_is_usable(expiry, refused):
    refusals = pack_refusals(pack(expiry), AMOXICILLIN_500, ORDER, today=TODAY)
    assert [r.code for r in refusals] == (["expired"] if refused else [])
    assert all(not r.overridable for r in refusals)


def test_another_strength_of_the_same_medicine_and_another_medicine_read_differently():
    (strength,) = pack_refusals(pack(), AMOXICILLIN_250, ORDER, today=TODAY)
    assert strength.code == "wrong-strength-or-form" and "Check the strength and form." in strength.message
    (other,) = pack_refusals(pack(), PARACETAMOL, ORDER, today=TODAY)
    assert other.code == "not-prescribed" and other.overridable
    assert other.message == (
        "This pack is Paracetamol 500mg tablets; the prescription is for Amoxicillin 500mg capsules."
    )


def test_a_brand_prescribed_by_brand_must_be_that_brand():
    by_brand = Order("2001", "Amoxicillin 500mg capsules", "1001", "4009", "Brand X 500mg", True, "")
    (brand,) = pack_refusals(pack(), AMOXICILLIN_500, by_brand, today=TODAY)
    assert brand.code == "wrong-brand"


def test_an_unknown_pack_may_be_checked_by_eye_with_a_reason():
    (unknown,) = pack_refusals(pack(), None, ORDER, today=TODAY)
    assert unknown.code == "unknown-pack" and unknown.overridable and "05012345678900" in unknown.message


def test_a_stopped_prescription_and_an_expired_pack_are_both_said_most_serious_first():
    stopped = Order("2001", "Amoxicillin 500mg capsules", "1001", "", "", False, "stopped by Dr Dee at 09:12")
    refusals = pack_refusals(pack(TODAY - timedelta(days=3)), PARACETAMOL, stopped, today=TODAY)
    assert [r.code for r in refusals] == ["not-active", "expired", "not-prescribed"]
    assert refusals[0].message == "This prescription is not active: stopped by Dr Dee at 09:12"


def test_a_regular_dose_before_its_window_is_refused_a_late_one_is_not():
    due = ward(2026, 12, 1, 8)
    early = time_refusal(due=due, now=due - timedelta(minutes=61), window=Window())
    assert early is not None and early.code == "not-due" and early.overridable
    assert time_refusal(due=due, now=due - timedelta(minutes=60), window=Window()) is None
    assert time_refusal(due=due, now=due + timedelta(hours=3), window=Window()) is None


def test_an_as_required_dose_inside_its_interval_is_refused_with_the_next_time():
    last = ward(2026, 12, 1, 10)
    rule = AsRequired(min_interval=timedelta(hours=4), max_in_24_hours=None)
    refusal = time_refusal(
        due=None, now=last + timedelta(hours=2), window=Window(), as_required=rule, given=(last,)
    )
    assert refusal is not None and refusal.code == "as-required-limit" and "from 14:00" in refusal.message
    assert (
        time_refusal(
            due=None, now=last + timedelta(hours=4), window=Window(), as_required=rule, given=(last,)
        )
        is None
    )
    assert last.tzinfo is WARD_TIME
