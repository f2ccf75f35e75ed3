"""Results for clinicians: a critical value raises an urgent alert to the ward and team at once, an
abnormal one an alert; the results page lists what waits for acknowledgement (critical first) and the
cumulative table; acknowledgement is once, with the action taken, and answers the alert; queries do
not grow with the results."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import ResultReport
from orders.services.results import CRITICAL_KIND, results_receive
from records.models import AlertSeverity, AlertStatus, ClinicalAlert
from tests.support import signed_in


def oru(patient, control, potassium="6.8", flag="HH", when="202612010900") -> str:
    return (
        "\r".join(
            [
                f"MSH|^~\\&|WINPATH|RXX01|EPR|RXX|{when}||ORU^R01|{control}|P|2.4",
                f"PID|||{patient.nhs_number}^^^NHS^NH||{patient.family_name}^{patient.given_names}||{patient.date_of_birth:%Y%m%d}",
                f"OBR|1|ORD{control}||U&E^Urea and electrolytes^L|||{when}|||||||||||||||{when}|||F",
                f"OBX|1|NM|2823-3^Potassium^LN||{potassium}|mmol/L|3.5-5.3|{flag}|||F",
                "OBX|2|NM|2951-2^Sodium^LN||139|mmol/L|133-146||||F",
            ]
        )
        + "\r"
    )


@pytest.fixture
def filed(admitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        results_receive(oru(admitted.patient, "K1"), channel="test")
    return ResultReport.objects.get()


def test_a_critical_potassium_raises_an_urgent_alert_to_the_ward_and_team(filed):
    alert = ClinicalAlert.objects.get(kind=CRITICAL_KIND)
    assert alert.severity == AlertSeverity.URGENT and "Potassium 6.8 mmol/L is above 6.5" in alert.message
    assert alert.recipients.exists() and filed.critical


def test_a_potassium_exactly_at_the_limit_is_not_critical(admitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        results_receive(oru(admitted.patient, "K2", potassium="6.5", flag="H"), channel="test")
    assert not ClinicalAlert.objects.filter(kind=CRITICAL_KIND).exists()
    assert ClinicalAlert.objects.get(kind="result_abnormal").severity == AlertSeverity.ALERT


def test_the_doctor_acknowledges_once_and_the_alert_is_answered(filed, doctor, nurse):
    client = signed_in(doctor)
    page = client.get(reverse("orders:results", args=[filed.patient_id]))
    assert b'data-testid="waiting-report"' in page.content and b"Critical" in page.content
    url = reverse("orders:result_acknowledge", args=[filed.patient_id, filed.pk])
    client.post(url, {"action": "treatment", "note": "Calcium gluconate and insulin-dextrose given"})
    filed.refresh_from_db()
    assert filed.acknowledged_by == doctor and filed.ack_action == "treatment"
    assert ClinicalAlert.objects.get(kind=CRITICAL_KIND).status == AlertStatus.ACKNOWLEDGED
    again = signed_in(nurse).post(url, {"action": "no-action"}, follow=True)
    assert b"already acknowledged by" in again.content
    table = client.get(reverse("orders:results", args=[filed.patient_id])).content.decode()
    assert 'data-testid="acknowledged"' in table and "Treatment changed" in table


def test_a_clerk_cannot_acknowledge_and_nothing_changes(filed, clerk):
    url = reverse("orders:result_acknowledge", args=[filed.patient_id, filed.pk])
    assert signed_in(clerk).post(url, {"action": "no-action"}).status_code == 403
    filed.refresh_from_db()
    assert filed.acknowledged_at is None


def test_the_results_page_queries_do_not_grow_with_the_results(admitted, doctor):
    client = signed_in(doctor)
    url = reverse("orders:results", args=[admitted.patient.pk])
    results_receive(oru(admitted.patient, "Q1", potassium="4.1", flag=""), channel="test")
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = count()
    for n in range(2, 8):
        results_receive(
            oru(admitted.patient, f"Q{n}", potassium="4.1", flag="", when=f"2026120{n}0900"), channel="test"
        )
    assert count() == before


def test_the_alerts_page_names_a_result_alert_and_links_to_the_results(filed, doctor):
    page = signed_in(doctor).get(reverse("records:alert_list")).content.decode()
    assert "Critical result" in page and "Potassium 6.8 mmol/L is above 6.5" in page
    assert reverse("orders:results", args=[filed.patient_id]) in page
    assert "Obs overdue" not in page


def test_an_unmatched_result_is_filed_by_a_person_to_the_right_patient(
    admitted, admin_user, doctor, django_capture_on_commit_callbacks
):
    from orders.models import Filing

    patient = admitted.patient
    wrong_name = oru(patient, "U1").replace(f"|{patient.family_name}^", "|Smyth^", 1)
    results_receive(wrong_name, channel="test")
    report = ResultReport.objects.get()
    assert report.filing == Filing.UNMATCHED and report.patient is None
    assert signed_in(doctor).get(reverse("orders:unmatched")).status_code == 403
    admin = signed_in(admin_user)
    page = admin.get(reverse("orders:unmatched"))
    assert b"Smyth" in page.content and b"family name" in page.content
    url = reverse("orders:unmatched_decide", args=[report.pk])
    assert (
        b"No patient has hospital number"
        in admin.post(url, {"decision": "file", "hospital_number": "NOPE"}, follow=True).content
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(url, {"decision": "file", "hospital_number": patient.hospital_number})
    report.refresh_from_db()
    assert report.patient == patient and report.filing == Filing.UNSOLICITED
    assert report.observations.filter(patient=patient).count() == 2
    assert ClinicalAlert.objects.filter(kind=CRITICAL_KIND, patient=patient).exists()


def test_an_unmatched_result_can_be_rejected_with_a_reason(admitted, admin_user):
    from orders.models import Filing

    patient = admitted.patient
    results_receive(oru(patient, "U2").replace(f"|{patient.family_name}^", "|Other^", 1), channel="test")
    report = ResultReport.objects.get()
    url = reverse("orders:unmatched_decide", args=[report.pk])
    admin = signed_in(admin_user)
    assert b"Give the reason" in admin.post(url, {"decision": "reject", "reason": ""}, follow=True).content
    admin.post(url, {"decision": "reject", "reason": "Patient of another trust"})
    report.refresh_from_db()
    assert report.filing == Filing.REJECTED and "another trust" in report.mismatch


def test_an_unacknowledged_abnormal_result_escalates_to_the_team_once(filed):
    from datetime import timedelta

    from django.utils import timezone

    from orders.services.results import OVERDUE_KIND, escalate_unacknowledged

    assert escalate_unacknowledged() == 0  # not yet overdue
    later = timezone.now() + timedelta(hours=25)
    assert escalate_unacknowledged(now=later) == 1
    assert escalate_unacknowledged(now=later) == 0
    alert = ClinicalAlert.objects.get(kind=OVERDUE_KIND)
    assert "not acknowledged after 25 hours" in alert.message and alert.severity == AlertSeverity.URGENT
