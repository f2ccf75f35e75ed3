"""Edges a review found in the results intake and the order life: malformed input answered, never
a 500; a result never filed to the wrong order or patient; one client cannot pre-empt another's
message; alerts close when their results are acknowledged; a correction filed from the unmatched
queue replaces what it corrects; the department cannot cancel a resulted order; outbound control
ids fit HL7 v2.4."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from orders.models import Filing, OrderableTest, OrderStatus, ResultObservation, ResultReport
from orders.samples import oru_for
from orders.services.catalogue import catalogue_load
from orders.services.requests import order_follow_result, orders_place
from orders.services.results import (
    CRITICAL_KIND,
    OVERDUE_KIND,
    escalate_unacknowledged,
    result_acknowledge,
    results_receive,
    unmatched_file,
)
from records.models import ACTIVE_ALERT_STATUSES, ClinicalAlert
from tests.factories import PatientFactory
from tests.support import signed_in, token_client


@pytest.fixture
def anne(db):
    return PatientFactory(family_name="Jones", given_names="Anne", date_of_birth=date(1950, 2, 3))


def message(patient, *, control="E1", pid=None, obr="OBR|1|||UE^U and E^L|||202612010900", rows=None) -> str:
    pid = pid or (
        f"PID|||{patient.hospital_number}^^^RXX^MR~{patient.nhs_number}^^^NHS^NH||"
        f"{patient.family_name}^{patient.given_names}||{patient.date_of_birth:%Y%m%d}"
    )
    rows = rows or ["OBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|3.5-5.3||||F"]
    return (
        "\r".join([f"MSH|^~\\&|LAB|RXX01|EPR|RXX|202612010930||ORU^R01|{control}|P|2.4", pid, obr, *rows])
        + "\r"
    )


@pytest.mark.parametrize("stamp", ["20260101120000+9999", "00010101000000+1400", "99991231235959-1200"])
def test_an_impossible_timestamp_is_read_as_no_time_not_a_500(anne, client, stamp):
    sender = token_client(client, "Lab", ["system/*.write"])
    text = message(anne, obr=f"OBR|1|||UE^U and E^L|||{stamp}")
    answer = sender.post("/hl7/v2", text, content_type="x-application/hl7-v2+er7")
    assert answer.status_code == 200 and b"MSA|AA" in answer.content


def test_a_malformed_escape_is_kept_as_sent(anne):
    rows = ["OBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|3.5-5.3||||F", "NTE|1||first\\.brA\\second"]
    assert results_receive(message(anne, rows=rows), channel="test").code == "AA"
    assert "first" in ResultObservation.objects.get().notes


def test_a_nul_character_is_refused_with_ar(anne):
    answer = results_receive(message(anne, control="N\x00UL"), channel="test")
    assert answer.code == "AR" and not ResultReport.objects.exists()


def test_a_nul_in_a_page_address_is_a_400(anne, doctor):
    response = signed_in(doctor).get(f"/patients/{anne.pk}/results/trend/%00/")
    assert response.status_code == 400


def test_an_obr_without_its_own_orc_does_not_take_the_previous_order(anne, doctor):
    catalogue_load()
    (ue,) = orders_place(requested_by=doctor, patient=anne, tests=[OrderableTest.objects.get(code="UE")])
    rows = [
        "OBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|3.5-5.3||||F",
        "OBR|2|||FBC^Full blood count^L|||202612010900",
        "OBX|1|NM|718-7^Haemoglobin^LN||135|g/L|130-180||||F",
    ]
    text = message(anne, rows=rows).replace("\rOBR|1|", f"\rORC|RE|{ue.number}^EPR\rOBR|1|", 1)
    results_receive(text, channel="test")
    by_code = {r.code: r for r in ResultReport.objects.all()}
    assert by_code["UE"].order == ue and by_code["FBC"].order is None


def test_a_result_without_name_and_birth_date_waits_unmatched(anne):
    results_receive(message(anne, pid=f"PID|||{anne.hospital_number}^^^RXX^MR"), channel="test")
    report = ResultReport.objects.get()
    assert report.filing == Filing.UNMATCHED and "family name" in report.mismatch


def test_an_nhs_number_and_a_hospital_number_of_two_records_wait_unmatched(anne):
    other = PatientFactory()
    pid = (
        f"PID|||{other.hospital_number}^^^RXX^MR~{anne.nhs_number}^^^NHS^NH||"
        f"{anne.family_name}^{anne.given_names}||{anne.date_of_birth:%Y%m%d}"
    )
    results_receive(message(anne, pid=pid), channel="test")
    assert ResultReport.objects.get().filing == Filing.UNMATCHED


def test_another_client_cannot_pre_empt_a_laboratorys_message(anne, client):
    intruder = token_client(client, "Other system", ["system/*.write"])
    intruder.post("/hl7/v2", message(anne, control="K1"), content_type="x-application/hl7-v2+er7")
    lab = token_client(client, "Pathology", ["system/*.write"])
    critical = message(anne, control="K1", rows=["OBX|1|NM|2823-3^Potassium^LN||7.9|mmol/L|3.5-5.3|HH|||F"])
    lab.post("/hl7/v2", critical, content_type="x-application/hl7-v2+er7")
    assert ResultObservation.objects.filter(value_text="7.9").exists()


def test_a_control_id_reused_for_a_different_message_is_refused(anne):
    results_receive(message(anne, control="R1"), channel="test")
    other = message(anne, control="R1", rows=["OBX|1|NM|2823-3^Potassium^LN||5.0|mmol/L|3.5-5.3||||F"])
    again = results_receive(other, channel="test")
    assert again.code == "AR" and "different message" in again.ack and ResultReport.objects.count() == 1
    resent = message(anne, control="R1").replace("202612010930", "202612011000", 1)  # a new MSH-7 only
    assert results_receive(resent, channel="test").code == "AA"


def test_acknowledging_the_final_closes_the_alert_a_preliminary_raised(
    admitted, doctor, django_capture_on_commit_callbacks
):
    patient = admitted.patient
    critical = ["OBX|1|NM|2823-3^Potassium^LN||6.9|mmol/L|3.5-5.3|HH|||P"]
    with django_capture_on_commit_callbacks(execute=True):
        results_receive(
            message(
                patient,
                control="P1",
                obr="OBR|1||L1|UE^U and E^L|||202612010900" + "|" * 18 + "P",
                rows=critical,
            ),
            channel="test",
        )
        final = [r.replace("|||P", "|||F") for r in critical]
        results_receive(
            message(
                patient,
                control="F1",
                obr="OBR|1||L1|UE^U and E^L|||202612010900" + "|" * 18 + "F",
                rows=final,
            ),
            channel="test",
        )
    final_report = ResultReport.objects.get(status="F")
    result_acknowledge(by=doctor, report=final_report, action="treatment")
    assert not ClinicalAlert.objects.filter(kind=CRITICAL_KIND, status__in=ACTIVE_ALERT_STATUSES).exists()


def test_acknowledging_an_overdue_result_closes_its_escalation(
    admitted, doctor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        results_receive(
            message(admitted.patient, rows=["OBX|1|NM|2823-3^Potassium^LN||5.9|mmol/L|3.5-5.3|H|||F"]),
            channel="test",
        )
    report = ResultReport.objects.get()
    ResultReport.objects.filter(pk=report.pk).update(filed_at=report.filed_at.replace(year=2025))
    escalate_unacknowledged()
    assert ClinicalAlert.objects.filter(kind=OVERDUE_KIND, status__in=ACTIVE_ALERT_STATUSES).exists()
    result_acknowledge(by=doctor, report=report, action="repeat")
    assert not ClinicalAlert.objects.filter(kind=OVERDUE_KIND, status__in=ACTIVE_ALERT_STATUSES).exists()


def test_a_correction_filed_from_the_unmatched_queue_replaces_what_it_corrects(anne, admin_user):
    obr = "OBR|1||L9|UE^U and E^L|||202612010900"
    results_receive(
        message(anne, control="C1", obr=obr, rows=["OBX|1|NM|2823-3^Potassium^LN||6.9|mmol/L|||||F"]),
        channel="test",
    )
    wrong_name = f"PID|||{anne.hospital_number}^^^RXX^MR||MISSPELT^Anne||{anne.date_of_birth:%Y%m%d}"
    corrected = ["OBX|1|NM|2823-3^Potassium^LN||4.2|mmol/L|||||C"]
    results_receive(message(anne, control="C2", obr=obr, pid=wrong_name, rows=corrected), channel="test")
    waiting = ResultReport.objects.get(filing=Filing.UNMATCHED)
    unmatched_file(by=admin_user, report=waiting, hospital_number=anne.hospital_number)
    first = ResultObservation.objects.get(value_text="6.9")
    assert first.superseded_by is not None and first.superseded_by.value_text == "4.2"
    assert first.superseded_by.history.first().history_change_reason == "Filed from the unmatched queue"


def test_the_department_cancelling_after_the_final_leaves_it_final(anne, doctor):
    catalogue_load()
    (order,) = orders_place(requested_by=doctor, patient=anne, tests=[OrderableTest.objects.get(code="LFT")])
    order_follow_result(order=order, report_status="F", filler_number="L1", now=order.requested_at)
    order_follow_result(order=order, report_status="X", filler_number="L1", now=order.requested_at)
    order.refresh_from_db()
    assert order.status == OrderStatus.FINAL


def test_outbound_control_ids_fit_hl7_v24(anne, doctor):
    catalogue_load()
    (order,) = orders_place(requested_by=doctor, patient=anne, tests=[OrderableTest.objects.get(code="FBC")])
    assert len(order.messages.get().control_id) <= 20


def test_a_fhir_report_dated_in_year_one_is_refused_not_a_500(anne, client):
    sender = token_client(client, "Lab", ["system/DiagnosticReport.write"])
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24362-6"}], "text": "U&E"},
        "subject": {"reference": f"Patient/{anne.pk}"},
        "effectiveDateTime": "0001-01-01T00:00:00+14:00",
        "contained": [
            {
                "resourceType": "Observation",
                "id": "k",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
            }
        ],
        "result": [{"reference": "#k"}],
    }
    answer = sender.post("/fhir/DiagnosticReport", report, content_type="application/fhir+json")
    assert answer.status_code in (400, 422) and not ResultReport.objects.exists()


def test_the_results_page_shows_a_structured_numeric_once(anne, admitted, doctor):
    patient = admitted.patient
    text = oru_for(patient, "CRP").replace("|NM|1988-5^CRP^LN||3|", "|SN|1988-5^CRP^LN||<^5|")
    results_receive(text, channel="test")
    page = signed_in(doctor).get(reverse("orders:results", args=[patient.pk]))
    assert b"&lt;&lt;5" not in page.content and b"&lt;5" in page.content


def test_an_escaped_escape_character_is_undone_once(anne):
    rows = ["OBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|3.5-5.3||||F", "NTE|1||a \\E\\T\\E\\ b \\T\\ c"]
    results_receive(message(anne, rows=rows), channel="test")
    assert ResultObservation.objects.get().notes == "a \\T\\ b & c"
