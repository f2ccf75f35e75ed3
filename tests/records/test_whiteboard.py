"""The ward's whiteboard, the clinical summary a patient page opens on, the banner's clinical facts,
resuscitation and escalation decisions and the expected discharge date."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from records import services
from records.errors import RecordError
from records.models import TreatmentEscalationPlan
from records.selectors import patients as selectors
from records.selectors import wards as ward_selectors
from tests.factories import BedFactory, PatientFactory
from tests.records.support import plan
from tests.support import login, shown
from tests.vitals import FIVE, NORMAL


def record(patient, user, values, minutes_ago=0):
    obs = services.observation_set_record(
        recorded_by=user, patient=patient, taken_at=timezone.now() - timedelta(minutes=minutes_ago), **values
    )
    services.alert_raise_for_set(obs=obs)
    return obs


def admit_more(ward, admitted, by, count):
    patients = []
    for _ in range(count):
        patient = PatientFactory()
        services.encounter_admit(
            admitted_by=by,
            patient=patient,
            ward=ward,
            bed=BedFactory(bay=admitted.ward_stays.first().bed.bay),
            consultant=admitted.consultant,
            team=admitted.team,
            specialty="300",
            admission_method="21",
        )
        patients.append(patient)
    return patients


# The whiteboard's facts ---------------------------------------------------------------------------------


def test_trend_due_time_alerts_allergies_and_plan(admitted, colleague, nurse, doctor):
    patient = admitted.patient
    record(patient, colleague, NORMAL, minutes_ago=300)
    record(patient, colleague, FIVE, minutes_ago=90)  # hourly now: overdue by half an hour
    services.allergy_record(recorded_by=doctor, patient=patient, substance_text="Penicillin", kind="allergy")
    plan(patient, doctor)
    facts = ward_selectors.clinical_summaries(nurse, [patient], {})[patient.pk]
    assert (facts.news2.news2_total, facts.previous_score, facts.trend) == (5, 0, "up")
    assert facts.overdue and facts.due_at == facts.news2.taken_at + timedelta(hours=1)
    assert (facts.alerts_urgent, facts.alerts_other) == (0, 1)
    assert (facts.allergies, facts.allergy_names) == ("present", "Penicillin")
    assert facts.plan.cpr_decision == "dnacpr"


def test_no_observations_yet_are_due_an_hour_after_admission(admitted, nurse):
    facts = ward_selectors.clinical_summaries(
        nurse, [admitted.patient], {admitted.patient_id: admitted.admitted_at}
    )[admitted.patient_id]
    assert facts.due_at == admitted.admitted_at + timedelta(hours=1)
    assert facts.allergies == "not-recorded" and facts.news2 is None


def test_no_clinical_facts_without_a_care_relationship(admitted, colleague, outsider):
    record(admitted.patient, colleague, FIVE)
    facts = ward_selectors.clinical_summaries(outsider, [admitted.patient], {})[admitted.patient_id]
    assert not facts.can_open and facts.news2 is None and facts.alerts_other == 0


def test_ward_list_shows_the_whiteboard_and_sorts_by_news2(client, admitted, colleague, nurse, ward, clerk):
    others = admit_more(ward, admitted, clerk, 2)
    record(others[0], colleague, FIVE)
    record(admitted.patient, colleague, NORMAL)
    page = login(client, nurse).get(reverse("records:ward_list"), {"sort": "news2"}).content.decode()
    assert page.count('data-testid="whiteboard-row"') == 3
    first = page.index(shown(others[0].display_name))
    assert first < page.index(shown(admitted.patient.display_name))
    assert "epr-news2--medium" in page and "Not recorded" in page
    assert 'aria-sort="descending"' in page


def test_ward_list_keeps_queries_flat_as_clinical_data_grows(
    client, admitted, colleague, nurse, doctor, ward, clerk, django_assert_max_num_queries
):
    def fill(patients):
        for p in patients:
            record(p, colleague, NORMAL, minutes_ago=120)
            record(p, colleague, FIVE)
            services.allergy_record(recorded_by=doctor, patient=p, substance_text="Latex", kind="allergy")
            plan(p, doctor)

    fill([admitted.patient])
    login(client, nurse)
    with django_assert_max_num_queries(25):
        client.get(reverse("records:ward_list"))
    fill(admit_more(ward, admitted, clerk, 12))
    with django_assert_max_num_queries(25):
        response = client.get(reverse("records:ward_list"))
    assert response.content.count(b"DNACPR") == 13


def test_a_doctor_with_no_ward_can_choose_any_ward(client, doctor, admitted, other_ward):
    login(client, doctor)
    page = client.get(reverse("records:ward_list")).content.decode()
    assert 'id="ward-picker"' in page and "Ward 9" in page
    other = client.get(reverse("records:ward_list"), {"ward": other_ward.pk})
    assert other.status_code == 200 and "Ward 9" in other.content.decode()


def test_my_patients_is_a_whiteboard_too(client, doctor, admitted, colleague, django_assert_max_num_queries):
    record(admitted.patient, colleague, FIVE)
    login(client, doctor)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("records:my_patients")).content.decode()
    assert 'data-testid="whiteboard-news2"' in page and "1 alert" in page


# The patient page ----------------------------------------------------------------------------------------


def test_clinical_staff_open_on_the_summary_and_clerks_on_the_details(
    client, admitted, nurse, clerk, colleague
):
    record(admitted.patient, colleague, FIVE)
    url = reverse("records:patient_detail", args=[admitted.patient_id])
    summary = login(client, nurse).get(url).content.decode()
    assert 'data-testid="summary-news2"' in summary and "Clinical summary" in summary
    title = re.search(r"<title>(.*?)</title>", summary, re.S).group(1)
    assert title.startswith(f"{admitted.patient.display_name} {admitted.patient.nhs_number_display}")
    assert "<h1" in summary
    details = login(client, clerk).get(url).content.decode()
    assert "summary-news2" not in details and "Details" in details


def test_summary_keeps_queries_flat(
    client, admitted, colleague, nurse, doctor, django_assert_max_num_queries
):
    url = reverse("records:patient_detail", args=[admitted.patient_id])
    login(client, nurse)
    with django_assert_max_num_queries(32):
        client.get(url)
    for n in range(8):
        record(admitted.patient, colleague, FIVE)
        plan(admitted.patient, doctor)
        services.allergy_record(
            recorded_by=doctor, patient=admitted.patient, substance_text=f"Nut {n}", kind="allergy"
        )
    with django_assert_max_num_queries(32):
        assert client.get(url).status_code == 200


def test_banner_shows_cpr_status_scale_two_weight_and_an_amber_allergy_warning(
    client, admitted, colleague, doctor, nurse
):
    services.observation_set_record(recorded_by=colleague, patient=admitted.patient, weight=Decimal("61.5"))
    services.spo2_scale_set(set_by=doctor, patient=admitted.patient, scale=2, reason="Type 2 RF on ABG")
    plan(admitted.patient, doctor)
    page = (
        login(client, nurse)
        .get(reverse("records:observation_chart", args=[admitted.patient_id]))
        .content.decode()
    )
    assert "DNACPR; ward-based care, not for ICU" in page
    assert "SpO2 Scale 2" in page
    assert "Weight 61.5 kg" in page
    assert "epr-banner__allergies--not-recorded" in page and "Record allergies" in page


# Decisions and dates -------------------------------------------------------------------------------------


def test_a_new_decision_replaces_the_current_one_and_history_stays(admitted, doctor, nurse):
    first = plan(admitted.patient, doctor, cpr_decision="attempt", escalation_level="full")
    plan(admitted.patient, doctor)
    assert ward_selectors.current_plan(admitted.patient).cpr_decision == "dnacpr"
    services.escalation_plan_mark_error(
        marked_by=doctor, plan=ward_selectors.current_plan(admitted.patient), reason="Wrong patient"
    )
    assert ward_selectors.current_plan(admitted.patient) == first
    assert TreatmentEscalationPlan.objects.count() == 2


def test_a_decision_needs_who_decided_and_who_was_consulted(admitted, doctor):
    with pytest.raises(RecordError) as refused:
        plan(admitted.patient, doctor, decided_by=" ", discussed_with="")
    assert set(refused.value.errors) == {"decided_by", "discussed_with"}
    assert not TreatmentEscalationPlan.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("doctor", 302), ("nurse", 403), ("outsider", 403)])
def test_only_a_doctor_records_a_decision(client, admitted, doctor, nurse, outsider, who, status):
    user = {"doctor": doctor, "nurse": nurse, "outsider": outsider}[who]
    response = login(client, user).post(
        reverse("records:escalation_plan", args=[admitted.patient_id]),
        {
            "cpr_decision": "dnacpr",
            "escalation_level": "ward",
            "decided_by": "Dr D",
            "discussed_with": "Patient",
        },
    )
    assert response.status_code == status
    assert TreatmentEscalationPlan.objects.count() == (1 if status == 302 else 0)


def test_expected_discharge_date_is_set_and_stale_pages_refused(client, admitted, nurse):
    url = reverse("records:expected_discharge", args=[admitted.patient_id])
    tomorrow = timezone.localdate() + timedelta(days=1)
    login(client, nurse)
    form = client.get(url).content.decode()
    assert 'type="date"' in form
    response = client.post(url, {"version": admitted.version, "expected": tomorrow.isoformat()})
    assert response.status_code == 302
    admitted.refresh_from_db()
    assert admitted.expected_discharge_date == tomorrow
    stale = client.post(url, {"version": admitted.version - 1, "expected": ""})
    assert b"Someone else changed this record" in stale.content
    yesterday = client.post(
        url, {"version": admitted.version, "expected": (tomorrow - timedelta(days=2)).isoformat()}
    )
    assert b"must be today or in the future" in yesterday.content
    admitted.refresh_from_db()
    assert admitted.expected_discharge_date == tomorrow


def test_banner_reads_are_part_of_the_access_door(admitted, nurse):
    opened = selectors.patient_for_user(nurse, admitted.patient_id)
    assert opened.clinical is not None and opened.clinical.plan is None


def test_break_glass_is_not_offered_transfer_discharge_or_edit(client, admitted, outsider):
    login(client, outsider)
    client.post(
        reverse("records:break_glass", args=[admitted.patient_id]), {"reason": "Covering the ward tonight"}
    )
    page = client.get(reverse("records:patient_demographics", args=[admitted.patient_id])).content.decode()
    assert "Break-glass access until" in page
    for action in ("patient_transfer", "patient_discharge", "patient_edit"):
        assert reverse(f"records:{action}", args=[admitted.patient_id]) not in page


def test_the_ward_nurse_is_offered_transfer_and_discharge(client, admitted, nurse):
    page = (
        login(client, nurse)
        .get(reverse("records:patient_demographics", args=[admitted.patient_id]))
        .content.decode()
    )
    assert reverse("records:patient_transfer", args=[admitted.patient_id]) in page
    assert reverse("records:patient_discharge", args=[admitted.patient_id]) in page


def test_a_decision_is_struck_through_from_its_page_with_a_reason(client, admitted, doctor):
    decision = plan(admitted.patient, doctor)
    url = reverse("records:escalation_plan_error", args=[admitted.patient_id, decision.pk])
    login(client, doctor)
    client.post(url, {"version": decision.version, "reason": ""})
    decision.refresh_from_db()
    assert decision.status == "final"
    client.post(url, {"version": decision.version, "reason": "Recorded for the wrong patient"})
    decision.refresh_from_db()
    assert decision.status == "entered-in-error"
    assert decision.error_reason == "Recorded for the wrong patient"
