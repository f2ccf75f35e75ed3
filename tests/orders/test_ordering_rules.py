"""The ordering rules at their boundaries (orders/rules/checks.py), the HL7 v2 order message
(orders/rules/outbound.py, read back with python-hl7) and the catalogue's check digits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import hl7
import pytest

from orders.rules import checks, outbound
from orders.services.catalogue import loinc_valid

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("grade", "minimum", "allowed"),
    [
        ("fy1", "", True),
        ("", "", True),
        ("fy1", "fy2", False),
        ("fy2", "fy2", True),
        ("anp", "fy2", True),
        ("anp", "core", False),
        ("consultant", "registrar", True),
        ("nurse", "fy1", False),
        ("", "fy1", False),
    ],
)
def test_referrer_grades_are_ranked_for_irmer(grade, minimum, allowed):
    assert checks.grade_allows(grade, minimum) is allowed


def test_a_role_not_listed_may_not_order_and_is_told_who_may():
    why = checks.who_may_order(
        test_name="CT head",
        ordering_roles=["doctor"],
        min_grade="fy2",
        role="nurse",
        grade="nurse",
        grade_label="",
    )
    assert "doctor" in why and "your role" in why
    why = checks.who_may_order(
        test_name="CT head",
        ordering_roles=["doctor"],
        min_grade="fy2",
        role="doctor",
        grade="fy1",
        grade_label="FY1",
    )
    assert "FY2 or above" in why and "FY1" in why


@pytest.mark.parametrize(
    ("sex", "born", "asked"),
    [
        ("female", date(2014, 12, 1), True),  # 12 today
        ("female", date(2014, 12, 2), False),  # 12 tomorrow
        ("female", date(1971, 12, 1), True),  # 55 today: the upper bound is inclusive
        ("female", date(1970, 12, 1), False),  # 56 today
        ("unknown", None, True),
        ("male", date(1990, 1, 1), False),
    ],
)
def test_pregnancy_questions_are_asked_of_who_could_be_pregnant(sex, born, asked):
    assert checks.could_be_pregnant(sex, born, date(2026, 12, 1)) is asked


QUESTIONS = [
    checks.Question("antibiotics", "Antibiotics in 48 hours?", "yes-no"),
    checks.Question("sets", "How many sets?", "number"),
    checks.Question("collection", "Collected how?", "choice", ("Midstream", "Catheter")),
    checks.Question("source", "Source", "text", required=False),
]


def test_required_answers_are_refused_when_missing_and_checked_by_type():
    errors = checks.answer_errors(QUESTIONS, {})
    assert set(errors) == {"antibiotics", "sets", "collection"}
    errors = checks.answer_errors(
        QUESTIONS, {"antibiotics": "maybe", "sets": "two", "collection": "Bag", "source": "chest"}
    )
    assert (
        "yes or no" in errors["antibiotics"]
        and "number" in errors["sets"]
        and "Choose" in errors["collection"]
    )
    assert checks.answer_errors(QUESTIONS, {"antibiotics": "No", "sets": "2", "collection": "Catheter"}) == {}


def _earlier(hours_ago: float, *, outstanding: bool = False, cancelled: bool = False) -> checks.EarlierOrder:
    return checks.EarlierOrder(
        number="EPR00100001",
        status_label="Sent to the department",
        requested_at=NOW - timedelta(hours=hours_ago),
        outstanding=outstanding,
        cancelled=cancelled,
    )


def test_duplicates_within_the_retest_interval_warn_and_just_outside_do_not():
    inside = checks.duplicate_warnings(
        test_name="HbA1c", retest_hours=2160, earlier=[_earlier(2159)], now=NOW
    )
    assert [w.kind for w in inside] == ["duplicate"] and "90 days" in inside[0].message
    assert (
        checks.duplicate_warnings(test_name="HbA1c", retest_hours=2160, earlier=[_earlier(2160)], now=NOW)
        == []
    )
    assert checks.duplicate_warnings(test_name="FBC", retest_hours=None, earlier=[_earlier(1)], now=NOW) == []


def test_an_outstanding_order_of_the_same_test_warns_whatever_the_interval_and_a_cancelled_one_does_not():
    found = checks.duplicate_warnings(
        test_name="FBC", retest_hours=None, earlier=[_earlier(30, outstanding=True)], now=NOW
    )
    assert [w.kind for w in found] == ["outstanding"] and "30 hours ago" in found[0].message
    cancelled = [_earlier(1, outstanding=False, cancelled=True)]
    assert checks.duplicate_warnings(test_name="CRP", retest_hours=12, earlier=cancelled, now=NOW) == []


def test_contrast_allergy_device_and_kidney_conflicts():
    found = checks.conflict_warnings(
        test_name="CTPA",
        modality="CT",
        contrast="iodinated",
        allergies=["Iodinated contrast media"],
        problems=[],
        egfr=None,
    )
    assert [w.kind for w in found] == ["contrast-allergy"]
    assert (
        checks.conflict_warnings(
            test_name="CTPA",
            modality="CT",
            contrast="iodinated",
            allergies=["Penicillin"],
            problems=[],
            egfr=None,
        )
        == []
    )
    mri = checks.conflict_warnings(
        test_name="MRI brain",
        modality="MR",
        contrast="",
        allergies=[],
        problems=["Cardiac pacemaker in situ"],
        egfr=None,
    )
    assert [w.kind for w in mri] == ["mri-device"]
    ct = checks.conflict_warnings(
        test_name="CT head",
        modality="CT",
        contrast="",
        allergies=[],
        problems=["Cardiac pacemaker in situ"],
        egfr=None,
    )
    assert ct == []  # a pacemaker matters to MRI, not CT
    kidneys = checks.conflict_warnings(
        test_name="CTPA", modality="CT", contrast="iodinated", allergies=[], problems=[], egfr=Decimal("29")
    )
    assert [w.kind for w in kidneys] == ["contrast-renal"]
    at_limit = checks.conflict_warnings(
        test_name="CTPA", modality="CT", contrast="iodinated", allergies=[], problems=[], egfr=Decimal("30")
    )
    assert at_limit == []


def _facts(**changes) -> outbound.OrderFacts:
    values = {
        "event": "NW",
        "control_id": "EPR00100001NW1",
        "laboratory": True,
        "placer_number": "EPR00100001",
        "filler_number": "",
        "test_code": "UE",
        "test_name": "Urea & electrolytes",
        "loinc_code": "24362-6",
        "priority": "stat",
        "requested_at": NOW,
        "requested_for": NOW,
        "clinical_details": "Vomiting | confused",
        "notes": "Line 1\nLine 2",
        "specimen_type": "Venous blood",
        "requester_id": "7654321",
        "requester_family": "Price",
        "requester_given": "Rhiannon",
        "nhs_number": "9990000018",
        "hospital_number": "H1000001",
        "family_name": "O'Brien",
        "given_name": "Seán",
        "date_of_birth": date(1948, 6, 1),
        "sex": "male",
        "ward_code": "SL-A1",
        "bed": "A1-3",
        "answers": (("antibiotics", "Antibiotics?", "No"),),
    }
    values.update(changes)
    return outbound.OrderFacts(**values)


def test_a_laboratory_order_is_an_oml_o21_with_the_nhs_number_and_placer_number_where_receivers_look():
    message = hl7.parse(outbound.order_message(_facts(), now=NOW))
    msh, pid, orc, obr = (message.segment(name) for name in ("MSH", "PID", "ORC", "OBR"))
    assert str(msh[9]) == "OML^O21^OML_O21" and str(msh[12]) == "2.4"
    assert str(pid[3][0][0]) == "9990000018" and str(pid[3][0][3]) == "NHS" and str(pid[3][0][4]) == "NH"
    assert str(pid[7]) == "19480601" and str(pid[8]) == "M"
    assert str(orc[1]) == "NW" and str(orc[2][0][0]) == "EPR00100001" and str(obr[2][0][0]) == "EPR00100001"
    assert message.unescape(str(obr[4][0][1])) == "Urea & electrolytes" and str(obr[4][0][3]) == "24362-6"
    assert message.unescape(str(obr[13])) == "Vomiting | confused"  # delimiters escaped, read back whole
    assert str(obr[27][0][5]) == "S"  # immediate
    assert str(obr[15]) == "&Venous blood"  # a CE in OBR-15.1: no code given, the text in its place
    assert [str(s[3]) for s in message.segments("NTE")] == ["Line 1", "Line 2"]
    assert str(message.segment("OBX")[5]) == "No"


def test_an_imaging_cancellation_is_an_orm_o01_with_the_reason():
    text = outbound.order_message(
        _facts(laboratory=False, event="CA", cancel_reason="Patient discharged"), now=NOW
    )
    message = hl7.parse(text)
    assert str(message.segment("MSH")[9]) == "ORM^O01^ORM_O01"
    orc = message.segment("ORC")
    assert str(orc[1]) == "CA" and str(orc[5]) == ""  # ORC-5 is the filler's
    assert str(orc[16][0][1]) == "Patient discharged"  # ORC-16 is a CE: the reason as its text


def test_the_ack_code_is_read_from_msa():
    assert outbound.ack_code("MSH|^~\\&|LAB||EPR||20261201||ACK|1|P|2.4\rMSA|AA|EPR1\r") == ("AA", "")
    assert outbound.ack_code("MSH|^~\\&|LAB\rMSA|AR|EPR1|Unknown test code\r") == ("AR", "Unknown test code")
    assert outbound.ack_code("garbage")[0] == ""


@pytest.mark.parametrize(
    ("code", "valid"), [("2823-3", True), ("2823-4", False), ("57021-8", True), ("abc", False)]
)
def test_loinc_check_digits(code, valid):
    assert loinc_valid(code) is valid
