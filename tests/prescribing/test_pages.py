"""The prescribing pages as people use them: a doctor prescribes from the chart (the allergy check
shown and answered or a different medicine chosen), a nurse gives a dose by scanning, a pharmacist
verifies from the queue; who may do what; and query counts that do not grow with the chart."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from epr.accounts.roles import Role
from prescribing.models import Administration, PharmacyReview, Prescription, Verification
from prescribing.rules.doses import WARD_TIME
from prescribing.services.prescriptions import findings_for
from prescribing.services.verification import prescription_review
from records import services as records
from tests.factories import PatientFactory, UserFactory
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of
from tests.support import shown, signed_in


@pytest.fixture
def paracetamol(db):
    return product("Paracetamol 500mg tablets", "Paracetamol")


@pytest.fixture
def ward_pharmacist(ward):
    user = UserFactory(username="wardpharm", role=Role.PHARMACIST, first_name="Priya", last_name="Patel")
    records.ward_add_staff(ward=ward, users=[user])
    return user


def main_of(response) -> str:
    """The page's main content as text, for a failing assertion's message."""
    text = response.content.decode()
    return re.sub(r"<[^>]+>|\s+", " ", text[text.find("<main") :])[:3000]


def chart_url(patient) -> str:
    return reverse("prescribing:drug_chart", args=[patient.pk])


def test_the_chart_shows_each_prescription_whole_with_its_state(admitted, doctor, nurse, paracetamol):
    prescribe(doctor, admitted.patient, paracetamol, notes_for_administration="Give with food")
    page = signed_in(nurse).get(chart_url(admitted.patient))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Paracetamol 500mg tablets" in text and "1000 mg" in text and "08:00, 12:00, 18:00, 22:00" in text
    assert "Not yet verified" in text and "Give with food" in text


@pytest.mark.parametrize("role", ["clerk", "manager"])
def test_clerks_and_managers_see_no_medicines(admitted, doctor, paracetamol, users, role):
    prescribe(doctor, admitted.patient, paracetamol)
    page = signed_in(users[role]).get(chart_url(admitted.patient))
    assert page.status_code == 403
    assert b"Paracetamol" not in page.content


def test_a_doctor_prescribing_for_a_penicillin_allergy_sees_the_warning_and_must_answer_it(
    admitted, doctor, nurse
):
    records.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_text="Penicillin", kind="allergy"
    )
    amoxicillin = product("Amoxicillin 500mg capsules", "Amoxicillin")
    client = signed_in(doctor)
    url = reverse("prescribing:prescribe", args=[admitted.patient.pk, amoxicillin.pk])
    form = client.get(url)
    assert b"Allergy recorded to Penicillin" in form.content
    posted = {
        "kind": "regular",
        "dose_value": "500",
        "dose_unit": "mg",
        "route": "Oral",
        "times_of_day": ["08:00", "14:00", "22:00"],
        "indication": "Cellulitis",
        "review_on": (timezone.localdate() + timedelta(days=2)).isoformat(),
        "setting": "inpatient",
    }
    refused = client.post(url, posted)
    assert refused.status_code == 200
    assert b"Give a reason to prescribe despite this" in refused.content
    assert not Prescription.objects.exists()
    answer = next(k for k in refused.context["form"].fields if k.startswith("answer_"))
    done = client.post(url, {**posted, answer: "Rash as a child only; tolerated cefalexin"})
    assert done.status_code == 302
    saved = Prescription.objects.get()
    assert saved.checks.get().reason == "Rash as a child only; tolerated cefalexin"


def test_a_nurse_may_not_prescribe(admitted, nurse, paracetamol):
    page = signed_in(nurse).get(reverse("prescribing:prescribe", args=[admitted.patient.pk, paracetamol.pk]))
    assert page.status_code == 403


def test_choosing_a_medicine_searches_by_every_word(admitted, doctor, paracetamol):
    product("Paracetamol 500mg soluble tablets", "Paracetamol")
    page = signed_in(doctor).get(
        reverse("prescribing:medicine_choose", args=[admitted.patient.pk]), {"q": "para sol"}
    )
    assert b"Paracetamol 500mg soluble tablets" in page.content
    assert b"Paracetamol 500mg tablets<" not in page.content


def _due_now() -> datetime:
    now = timezone.localtime(timezone.now(), WARD_TIME)
    return now.replace(minute=0, second=0, microsecond=0)


def test_giving_a_dose_by_scanning_refuses_the_wrong_wristband_then_records_it(
    admitted, doctor, nurse, paracetamol, ward_pharmacist
):
    due = _due_now()
    prescription = prescribe(doctor, admitted.patient, paracetamol, times_of_day=[f"{due:%H}:00"])
    prescription_review(by=ward_pharmacist, prescription=prescription, action="verified")
    gtin = pack(paracetamol, 7)
    client = signed_in(nurse)
    url = (
        reverse("prescribing:administer", args=[admitted.patient.pk, prescription.pk])
        + "?"
        + urlencode({"due": due.isoformat()})
    )
    assert b"Scan wristband" in client.get(url).content
    other = PatientFactory()
    wrong = client.post(url, {"wristband": other.nhs_number, "pack": scan_of(gtin), "submission": "a1"})
    assert wrong.status_code == 200
    assert b"This wristband is not" in wrong.content, main_of(wrong)
    assert b"cannot be overridden" in wrong.content
    assert not Administration.objects.exists()
    right = client.post(
        url, {"wristband": admitted.patient.nhs_number, "pack": scan_of(gtin), "submission": "a2"}
    )
    assert right.status_code == 302
    given = Administration.objects.get()
    assert given.batch == "AB12"
    chart = client.get(chart_url(admitted.patient)).content.decode()
    assert "AB12" in chart and "31-Dec-2030" in chart


def test_posting_the_give_form_twice_records_one_dose(admitted, doctor, nurse, paracetamol, ward_pharmacist):
    due = _due_now()
    prescription = prescribe(doctor, admitted.patient, paracetamol, times_of_day=[f"{due:%H}:00"])
    gtin = pack(paracetamol, 8)
    client = signed_in(nurse)
    url = (
        reverse("prescribing:administer", args=[admitted.patient.pk, prescription.pk])
        + "?"
        + urlencode({"due": due.isoformat()})
    )
    posted = {"wristband": admitted.patient.hospital_number, "pack": scan_of(gtin), "submission": "same"}
    client.post(url, posted)
    again = client.post(url, posted, follow=True)
    assert b"already given by" in again.content
    assert Administration.objects.count() == 1


def test_an_hca_may_not_give_medicines(admitted, doctor, colleague, paracetamol):
    prescription = prescribe(doctor, admitted.patient, paracetamol)
    url = reverse("prescribing:administer", args=[admitted.patient.pk, prescription.pk])
    assert signed_in(colleague).post(url, {"wristband": admitted.patient.nhs_number}).status_code == 403
    assert not Administration.objects.exists()


def test_a_prescription_of_another_patient_is_not_found(admitted, doctor, nurse, paracetamol):
    other = PatientFactory()
    prescription = prescribe(doctor, admitted.patient, paracetamol)
    url = reverse("prescribing:administer", args=[other.pk, prescription.pk])
    assert signed_in(nurse).get(url).status_code in (403, 404)


def test_the_pharmacist_verifies_from_the_queue_oldest_first(admitted, doctor, ward_pharmacist, paracetamol):
    older = prescribe(doctor, admitted.patient, paracetamol)
    newer = prescribe(
        doctor,
        admitted.patient,
        product("Senna 7.5mg tablets", "Senna"),
        dose_value=Decimal("15"),
        times_of_day=["22:00"],
    )
    client = signed_in(ward_pharmacist)
    queue = client.get(reverse("prescribing:verification_queue"))
    text = queue.content.decode()
    assert text.index("Paracetamol") < text.index("Senna")
    url = reverse("prescribing:prescription_review", args=[admitted.patient.pk, older.pk])
    client.post(url, {"action": "verified", "version": older.version})
    older.refresh_from_db()
    assert older.verification == Verification.VERIFIED and older.verified_by == ward_pharmacist
    assert len(client.get(reverse("prescribing:verification_queue")).context["items"]) == 1
    newer.refresh_from_db()
    assert newer.verification == Verification.AWAITING


def test_a_query_reaches_the_prescriber_who_answers_it(admitted, doctor, ward_pharmacist, paracetamol):
    prescription = prescribe(doctor, admitted.patient, paracetamol)
    url = reverse("prescribing:prescription_review", args=[admitted.patient.pk, prescription.pk])
    signed_in(ward_pharmacist).post(
        url, {"action": "queried", "text": "Weight 45 kg: reduce to 500 mg?", "version": 1}
    )
    queries = signed_in(doctor).get(reverse("prescribing:my_queries"))
    assert b"Weight 45 kg" in queries.content
    signed_in(doctor).post(url, {"action": "answered", "text": "Agreed, will rewrite", "version": 2})
    prescription.refresh_from_db()
    assert prescription.verification == Verification.AWAITING
    assert list(PharmacyReview.objects.values_list("action", flat=True)) == ["queried", "answered"]


def test_a_nurse_cannot_verify_and_nothing_changes(admitted, doctor, nurse, paracetamol):
    prescription = prescribe(doctor, admitted.patient, paracetamol)
    url = reverse("prescribing:prescription_review", args=[admitted.patient.pk, prescription.pk])
    assert signed_in(nurse).post(url, {"action": "verified", "version": 1}).status_code == 403
    prescription.refresh_from_db()
    assert prescription.verification == Verification.AWAITING and not PharmacyReview.objects.exists()


def test_a_rejection_needs_its_reason(admitted, doctor, ward_pharmacist, paracetamol):
    prescription = prescribe(doctor, admitted.patient, paracetamol)
    url = reverse("prescribing:prescription_review", args=[admitted.patient.pk, prescription.pk])
    page = signed_in(ward_pharmacist).post(url, {"action": "rejected", "text": "", "version": 1}, follow=True)
    assert b"Give the reason the prescription is rejected" in page.content
    prescription.refresh_from_db()
    assert prescription.verification == Verification.AWAITING


def test_the_round_lists_overdue_patients_first(ward, bed, doctor, nurse, paracetamol, team, clerk):
    first = admitted_patient(ward, doctor, team, clerk)
    second = admitted_patient(ward, doctor, team, clerk)
    long_ago = timezone.localtime() - timedelta(hours=3)
    prescribe(
        doctor,
        second,
        paracetamol,
        times_of_day=[f"{long_ago:%H}:00"],
        starts_at=timezone.now() - timedelta(days=1),
    )
    prescribe(doctor, first, paracetamol, times_of_day=["23:59"])
    page = signed_in(nurse).get(reverse("prescribing:medication_round"))
    text = page.content.decode()
    if long_ago.date() == timezone.localdate():
        assert text.index(shown(second.display_name)) < text.index(shown(first.display_name))
        assert 'data-testid="overdue-count">1<' in text


def admitted_patient(ward, doctor, team, clerk):
    patient = PatientFactory()
    records.encounter_admit(
        admitted_by=clerk,
        patient=patient,
        ward=ward,
        bed=None,
        consultant=doctor,
        team=team,
        specialty="300",
        admission_method="21",
    )
    return patient


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_chart_round_and_queue_do_not_query_more_as_prescriptions_grow(
    admitted, ward, doctor, nurse, ward_pharmacist, paracetamol, team, clerk
):
    numbers = itertools.count()

    def add(patient, n):
        for _ in range(n):
            i = next(numbers)
            vmp = product(f"Medicine {i} 10mg tablets", f"Ingredient {i}")
            prescription = prescribe(
                doctor, patient, vmp, dose_value=Decimal("10"), times_of_day=["08:00", "20:00"]
            )
            Administration.objects.create(
                prescription=prescription,
                patient=patient,
                outcome="not-given",
                not_given_reason="refused",
                due_at=datetime.combine(timezone.localdate(), time(8), tzinfo=WARD_TIME),
                at=timezone.now(),
                recorded_by=nurse,
                recorded_at=timezone.now(),
            )

    add(admitted.patient, 2)
    nurse_client, pharmacist_client = signed_in(nurse), signed_in(ward_pharmacist)
    urls = {
        "chart": (nurse_client, chart_url(admitted.patient)),
        "round": (nurse_client, reverse("prescribing:medication_round")),
        "queue": (pharmacist_client, reverse("prescribing:verification_queue")),
    }
    for client, url in urls.values():
        _queries(client, url)  # warm the session and permission caches
    before = {name: _queries(client, url) for name, (client, url) in urls.items()}
    add(admitted.patient, 5)
    add(admitted_patient(ward, doctor, team, clerk), 4)
    after = {name: _queries(client, url) for name, (client, url) in urls.items()}
    assert after == before


def test_the_queue_shows_the_allergies_and_the_checks_overridden(admitted, doctor, nurse, ward_pharmacist):
    records.allergy_record(
        recorded_by=nurse, patient=admitted.patient, substance_text="Penicillin", kind="allergy"
    )
    cefalexin = product("Cefalexin 500mg capsules", "Cefalexin")

    pending = findings_for(admitted.patient, cefalexin)
    assert pending, "a penicillin allergy warns of a cephalosporin"
    prescribe(
        doctor,
        admitted.patient,
        cefalexin,
        dose_value=Decimal("500"),
        indication="UTI",
        answers={p.key: "Rash only, tolerated before" for p in pending},
    )
    page = signed_in(ward_pharmacist).get(reverse("prescribing:verification_queue")).content.decode()
    assert "Penicillin" in page and "Rash only, tolerated before" in page


def test_prescribing_before_allergies_are_recorded_says_so(admitted, doctor, paracetamol):
    page = signed_in(doctor).get(reverse("prescribing:prescribe", args=[admitted.patient.pk, paracetamol.pk]))
    assert b'data-testid="allergies-unknown"' in page.content


def test_giving_a_dose_costs_the_same_queries_for_a_combination_product(
    admitted, doctor, nurse, ward_pharmacist
):
    due = _due_now()
    client = signed_in(nurse)
    client.get(chart_url(admitted.patient))  # the session's and permissions' first reads
    counts = []
    for number, names in enumerate([("Paracetamol",), ("Liquid paraffin", "White soft paraffin")], start=60):
        vmp = product(f"Product {number}", *names)
        prescription = prescribe(doctor, admitted.patient, vmp, times_of_day=[f"{due:%H}:00"])
        prescription_review(by=ward_pharmacist, prescription=prescription, action="verified")
        url = reverse("prescribing:administer", args=[admitted.patient.pk, prescription.pk])
        url += "?" + urlencode({"due": due.isoformat()})
        posted = {
            "wristband": admitted.patient.nhs_number,
            "pack": scan_of(pack(vmp, number)),
            "submission": f"q{number}",
        }
        with CaptureQueriesContext(connection) as captured:
            assert client.post(url, posted).status_code == 302
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-13-40"])
def test_a_day_at_the_calendars_ends_shows_today_not_an_error(admitted, nurse, day):
    assert signed_in(nurse).get(chart_url(admitted.patient), {"day": day}).status_code == 200
