"""Weight-based doses: calculated from the latest recorded weight, rounded to what can be measured of
the product, refused without a weight or when rounding moves the dose too far, and an old weight
needs the prescriber's reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prescribing.models import Prescription, VMPIngredient
from prescribing.services.prescriptions import ChecksNeedAnswers
from records.errors import RecordError
from records.models import ObservationSet
from tests.factories.prescribing import product
from tests.prescribing.support import prescribe
from tests.support import signed_in


def weigh(patient, nurse, kg, *, days_ago=0):
    return ObservationSet.objects.create(
        patient=patient,
        taken_at=timezone.now() - timedelta(days=days_ago),
        recorded_at=timezone.now(),
        recorded_by=nurse,
        weight=Decimal(kg),
    )


@pytest.fixture
def paracetamol_liquid(db):
    vmp = product("Paracetamol 250mg/5ml oral suspension", "Paracetamol")
    VMPIngredient.objects.filter(vmp=vmp).update(
        strength_value=Decimal("250"), strength_units="mg", per_value=Decimal("5"), per_units="ml"
    )
    return vmp


def test_the_dose_is_calculated_from_the_latest_weight_and_rounded_to_a_tenth_of_a_ml(
    admitted, doctor, nurse, paracetamol_liquid
):
    weigh(admitted.patient, nurse, "30.0", days_ago=3)
    weigh(admitted.patient, nurse, "31.7")
    prescription = prescribe(
        doctor,
        admitted.patient,
        paracetamol_liquid,
        dose_value=None,
        dose_per_kg=Decimal("15"),
        dose_unit="mg",
    )
    # 15 mg/kg x 31.7 kg = 475.5 mg; 0.1 ml of 50 mg/ml is 5 mg, so 475 mg (9.5 ml).
    assert prescription.dose_value == Decimal("475")
    assert prescription.dosing_weight_kg == Decimal("31.7") and prescription.dose_per_kg == Decimal("15")


def test_no_weight_no_weight_based_dose(admitted, doctor, paracetamol_liquid):
    with pytest.raises(RecordError, match="No weight is recorded"):
        prescribe(doctor, admitted.patient, paracetamol_liquid, dose_value=None, dose_per_kg=Decimal("15"))
    assert not Prescription.objects.exists()


def test_tablets_too_coarse_for_the_dose_are_refused(admitted, doctor, nurse):
    tablets = product("Paracetamol 500mg tablets", "Paracetamol")
    VMPIngredient.objects.filter(vmp=tablets).update(strength_value=Decimal("500"), strength_units="mg")
    weigh(admitted.patient, nurse, "12")
    with pytest.raises(RecordError, match="cannot be measured closely enough"):
        prescribe(doctor, admitted.patient, tablets, dose_value=None, dose_per_kg=Decimal("15"))


def test_an_old_weight_needs_a_reason(admitted, doctor, nurse, paracetamol_liquid):
    weigh(admitted.patient, nurse, "31.7", days_ago=20)
    with pytest.raises(ChecksNeedAnswers) as refused:
        prescribe(doctor, admitted.patient, paracetamol_liquid, dose_value=None, dose_per_kg=Decimal("15"))
    (pending,) = refused.value.pending
    assert "recorded 20 days ago" in pending.finding.message


def test_the_form_takes_a_dose_per_kg_and_the_chart_shows_the_weight(
    admitted, doctor, nurse, paracetamol_liquid
):
    weigh(admitted.patient, nurse, "31.7")
    paracetamol_liquid.route_names = ["Oral"]
    paracetamol_liquid.save()
    client = signed_in(doctor)
    url = reverse("prescribing:prescribe", args=[admitted.patient.pk, paracetamol_liquid.pk])
    assert b"Latest weight: 31.7 kg" in client.get(url).content
    posted = {
        "kind": "regular",
        "dose_per_kg": "15",
        "dose_unit": "mg",
        "route": "Oral",
        "times_of_day": ["06:00", "12:00", "18:00", "22:00"],
        "setting": "inpatient",
    }
    assert client.post(url, posted).status_code == 302
    chart = client.get(reverse("prescribing:drug_chart", args=[admitted.patient.pk])).content.decode()
    assert "15 mg/kg for 31.7 kg" in chart
    both = client.post(url, {**posted, "dose_value": "400"})
    assert b"not both" in both.content


def test_a_new_weight_a_tenth_away_raises_an_alert_on_weight_based_doses(
    admitted, doctor, nurse, paracetamol_liquid, django_capture_on_commit_callbacks
):
    from records.models import ClinicalAlert
    from records.services.observations import observation_set_record

    weigh(admitted.patient, nurse, "31.7")
    prescribe(doctor, admitted.patient, paracetamol_liquid, dose_value=None, dose_per_kg=Decimal("15"))
    with django_capture_on_commit_callbacks(execute=True):
        observation_set_record(recorded_by=nurse, patient=admitted.patient, weight=Decimal("34.8"))
    assert not ClinicalAlert.objects.filter(kind="medicines_check").exists()  # 9.8% more: within a tenth
    with django_capture_on_commit_callbacks(execute=True):
        observation_set_record(
            recorded_by=nurse,
            patient=admitted.patient,
            weight=Decimal("28.0"),
            taken_at=timezone.now() + timedelta(minutes=1),
        )
    alert = ClinicalAlert.objects.get(kind="medicines_check")
    assert "Weight now 28.0 kg" in alert.message and "Paracetamol 250mg/5ml oral suspension" in alert.message
