"""A stale or missing version never overwrites someone else's change, and POST-only endpoints refuse
GET and change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from records import services
from records.models import (
    AllergyIntolerance,
    ClinicalNote,
    Patient,
)
from tests.support import client_for

FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUP2 = "\u00b2"  # SUPERSCRIPT TWO: str.isdigit() is True, int() refuses it

# -- versions: a stale or missing version never overwrites -----------------------------------------------


def _demographics(patient: Patient) -> dict:
    dates = ("date_of_birth", "date_of_death")  # posted as the date input's day, month and year
    data = {f: getattr(patient, f) or "" for f in services.DEMOGRAPHIC_FIELDS if f not in dates}
    data.update(
        date_of_birth_day=patient.date_of_birth.day if patient.date_of_birth else "",
        date_of_birth_month=patient.date_of_birth.month if patient.date_of_birth else "",
        date_of_birth_year=patient.date_of_birth.year if patient.date_of_birth else "",
        temporary_identity="",
        interpreter_required="",
    )
    return data


def test_patient_edit_without_a_version_does_not_overwrite_a_concurrent_change(nurse, clerk, admitted):
    patient = admitted.patient
    form = _demographics(patient)
    services.patient_update(
        updated_by=clerk, patient=patient, expected_version=1, changes={"phone": "01632 960000"}
    )
    # Before 1c744a9 views.patient_edit took a missing version as the current one and saved over this.
    client_for(nurse).post(reverse("records:patient_edit", args=[patient.pk]), {**form, "given_names": "Jon"})
    patient.refresh_from_db()
    assert patient.phone == "01632 960000"


def test_careplan_edit_without_a_version_does_not_overwrite_a_concurrent_change(
    nurse, doctor, admitted, plan
):
    services.careplan_update(
        updated_by=doctor, plan=plan, expected_version=1, changes={"goals": "Doctor's goals"}
    )
    client_for(nurse).post(
        reverse("records:careplan_edit", args=[admitted.patient_id, plan.pk]),
        {
            "need": "Pressure area care",
            "goals": "Nurse's goals",
            "interventions": "Two-hourly turns",
            "responsible": nurse.pk,
            "review_date": plan.review_date.isoformat(),
        },
    )
    plan.refresh_from_db()
    assert plan.goals == "Doctor's goals"


def test_stale_versions_are_refused_with_a_message(nurse, admitted, plan):
    client = client_for(nurse)
    allergy = services.allergy_record(recorded_by=nurse, patient=admitted.patient, substance_text="Latex")
    response = client.post(
        reverse("records:entry_amend", args=[admitted.patient_id, "allergies", allergy.pk]),
        {
            "version": "99999999999999999999",
            "reason": "Update",
            "clinical_status": "active",
            "verification": "confirmed",
        },
    )
    assert response.status_code == 200
    allergy.refresh_from_db()
    assert allergy.version == 1
    response = client.post(
        reverse("records:careplan_edit", args=[admitted.patient_id, plan.pk]),
        {
            "need": "Changed",
            "goals": "g",
            "interventions": "i",
            "responsible": nurse.pk,
            "review_date": plan.review_date.isoformat(),
            "version": "7",
        },
    )
    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.need == "Pressure area care"


# -- methods ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["allergy_none_known", "note_countersign", "careplan_review", "break_glass", "sar_generate"],
)
def test_post_only_endpoints_refuse_get_and_change_nothing(admin_user, nurse, admitted, name, plan, template):
    note = services.note_start(
        author=nurse, patient=admitted.patient, template=template, free_text="x", sign=True
    )
    args = {
        "allergy_none_known": [admitted.patient_id],
        "note_countersign": [admitted.patient_id, note.pk],
        "careplan_review": [admitted.patient_id, plan.pk],
        "break_glass": [admitted.patient_id],
        "sar_generate": [admitted.patient_id, 1],
    }[name]
    user = admin_user if name == "sar_generate" else nurse
    assert client_for(user).get(reverse(f"records:{name}", args=args)).status_code == 405
    assert not AllergyIntolerance.objects.exists()
    assert ClinicalNote.objects.get().countersigned_by is None
