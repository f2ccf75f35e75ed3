"""Stepped (reducing) courses and infusions: the rules at their edges, what the service keeps, the
dose a step gives on its day at the bedside, and the form and chart a prescriber uses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prescribing.rules import doses
from prescribing.rules.doses import WARD_TIME
from prescribing.services import administration
from prescribing.services.verification import prescription_review
from records.errors import RecordError
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of
from tests.support import signed_in


@pytest.mark.parametrize(
    ("volume", "minutes", "rate"), [("100", 30, "200.00"), ("1000", 480, "125.00"), ("50", 7, "428.57")]
)
def test_an_infusions_rate_from_its_volume_and_duration(volume, minutes, rate):
    assert doses.infusion_rate(Decimal(volume), minutes) == Decimal(rate)
    assert doses.infusion_minutes(Decimal(volume), Decimal(rate)) == minutes


def test_a_stepped_course_places_each_step_after_the_last():
    steps, ends = doses.stepped_course(
        date(2026, 12, 1), [(Decimal("40"), 5), (Decimal("30"), 5), (Decimal("20"), 3)]
    )
    assert [(s.starts, s.dose) for s in steps] == [
        (date(2026, 12, 1), Decimal("40")),
        (date(2026, 12, 6), Decimal("30")),
        (date(2026, 12, 11), Decimal("20")),
    ]
    assert ends == date(2026, 12, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40 for 5 days\n30 for 5 days", [(Decimal("40"), 5), (Decimal("30"), 5)]),
        ("  2.5 for 1 day \n\n", [(Decimal("2.5"), 1)]),
    ],
)
def test_steps_are_read_one_a_line(text, expected):
    assert doses.parse_steps(text) == expected


@pytest.mark.parametrize("text", ["forty for five days", "40 mg daily", "40 for"])
def test_a_step_that_cannot_be_read_is_named(text):
    with pytest.raises(ValueError, match=r'Step 1 .*should read like "40 for 5 days"'):
        doses.parse_steps(text)


@pytest.fixture
def prednisolone(db):
    return product("Prednisolone 5mg tablets", "Prednisolone")


def test_a_reducing_course_gives_each_days_dose_at_the_bedside(
    admitted, doctor, nurse, pharmacist, prednisolone
):
    start = datetime.combine(timezone.localdate() - timedelta(days=5), time(0), tzinfo=WARD_TIME)
    course = prescribe(
        doctor,
        admitted.patient,
        prednisolone,
        dose_value=None,
        dose_unit="mg",
        times_of_day=["08:00"],
        dose_steps=[(Decimal("40"), 5), (Decimal("30"), 5)],
        starts_at=start,
    )
    assert course.dose_value == Decimal("40") and course.ends_at.date() == (start + timedelta(days=10)).date()
    assert course.dose_on(timezone.localdate()) == Decimal("30")
    prescription_review(by=pharmacist, prescription=course, action="verified")
    course.refresh_from_db()
    due = datetime.combine(timezone.localdate(), time(8), tzinfo=WARD_TIME)
    given = administration.administration_give(
        given_by=nurse,
        prescription=course,
        due_at=due,
        wristband=admitted.patient.nhs_number,
        pack=scan_of(pack(prednisolone, 51)),
        now=due + timedelta(minutes=5),
    )
    assert given.dose_value == Decimal("30")


def test_an_infusion_needs_its_volume_and_a_rate_or_duration_that_agree(admitted, doctor):
    vancomycin = product("Vancomycin 1g powder for solution for infusion vials", "Vancomycin")
    values = {"dose_value": Decimal("1000"), "indication": "MRSA bacteraemia", "route": "Intravenous"}
    with pytest.raises(RecordError, match="needs its volume"):
        prescribe(doctor, admitted.patient, vancomycin, diluent="Sodium chloride 0.9%", **values)
    with pytest.raises(RecordError, match=r"rate .* or how long"):
        prescribe(doctor, admitted.patient, vancomycin, infusion_volume_ml=Decimal("250"), **values)
    with pytest.raises(RecordError, match="takes 120 minutes, not 60"):
        prescribe(
            doctor,
            admitted.patient,
            vancomycin,
            infusion_volume_ml=Decimal("250"),
            infusion_rate_ml_per_hour=Decimal("125"),
            infusion_minutes=60,
            **values,
        )
    infusion = prescribe(
        doctor,
        admitted.patient,
        vancomycin,
        diluent="Sodium chloride 0.9%",
        infusion_volume_ml=Decimal("250"),
        infusion_minutes=120,
        **values,
    )
    assert infusion.infusion_rate_ml_per_hour == Decimal("125.00")
    assert infusion.infusion_text == "in 250 ml Sodium chloride 0.9% over 2 hours (125 ml/hour)"


def test_the_form_writes_a_stepped_course_and_the_chart_shows_the_days_dose(admitted, doctor, prednisolone):
    prednisolone.route_names = ["Oral"]
    prednisolone.save()
    client = signed_in(doctor)
    url = reverse("prescribing:prescribe", args=[admitted.patient.pk, prednisolone.pk])
    posted = {
        "kind": "regular",
        "dose_steps": "40 for 5 days\n30 for 5 days",
        "dose_unit": "mg",
        "route": "Oral",
        "times_of_day": ["08:00"],
        "setting": "inpatient",
    }
    assert client.post(url, posted).status_code == 302
    chart = client.get(reverse("prescribing:drug_chart", args=[admitted.patient.pk])).content.decode()
    assert "40 mg on this day (stepped course)" in chart and 'data-testid="steps"' in chart
    bad = client.post(url, {**posted, "dose_steps": "forty for five"})
    assert b"should read like" in bad.content
