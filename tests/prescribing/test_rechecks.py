"""An allergy recorded after a prescription was written: an urgent alert to the ward and team names
the prescription, and the bedside check stops the dose until a reason is given."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from prescribing.rules.doses import WARD_TIME
from prescribing.services import administration
from prescribing.services.rechecks import ALERT_KIND
from prescribing.services.verification import prescription_review
from records import services as records
from records.models import AlertSeverity, ClinicalAlert
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of


@pytest.fixture
def amoxicillin_course(admitted, doctor, pharmacist):
    vmp = product("Amoxicillin 500mg capsules", "Amoxicillin")
    prescription = prescribe(
        doctor, admitted.patient, vmp, times_of_day=["08:00"], indication="Chest infection"
    )
    prescription_review(by=pharmacist, prescription=prescription, action="verified")
    prescription.refresh_from_db()
    return prescription


def test_a_penicillin_allergy_recorded_later_raises_an_urgent_alert(
    amoxicillin_course, admitted, nurse, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        records.allergy_record(
            recorded_by=nurse, patient=admitted.patient, substance_text="Penicillin", kind="allergy"
        )
    alert = ClinicalAlert.objects.get(kind=ALERT_KIND)
    assert alert.severity == AlertSeverity.URGENT
    assert "Amoxicillin 500mg capsules" in alert.message and alert.recipients.exists()


def test_an_allergy_to_something_else_raises_nothing(
    amoxicillin_course, admitted, nurse, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        records.allergy_record(
            recorded_by=nurse, patient=admitted.patient, substance_text="Latex", kind="allergy"
        )
    assert not ClinicalAlert.objects.filter(kind=ALERT_KIND).exists()


def test_the_bedside_stops_the_dose_until_a_reason_is_given(amoxicillin_course, admitted, nurse):
    records.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_text="Penicillin", kind="allergy"
    )
    gtin = pack(amoxicillin_course.vmp, 31)
    due = datetime.combine(timezone.localdate(), time(8), tzinfo=WARD_TIME)
    values = {
        "given_by": nurse,
        "prescription": amoxicillin_course,
        "due_at": due,
        "wristband": admitted.patient.nhs_number,
        "pack": scan_of(gtin),
        "now": due + timedelta(minutes=5),
    }
    with pytest.raises(administration.AdministrationRefused) as refused:
        administration.administration_give(**values)
    assert [r.code for r in refused.value.refusals] == ["allergy"]
    given = administration.administration_give(**values, overrides={"allergy": "Dr Dee confirmed: rash only"})
    assert given.overrides[0]["code"] == "allergy"
