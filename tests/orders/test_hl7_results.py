"""HL7 v2 results in (orders/rules.py, services.py, views.py): real-world ORU shapes read, the patient
matched only when identifiers, name and date of birth agree (else the unmatched queue), one filing
however many times a message arrives, every bad message answered with an ACK (AR or AE), never a
500, and the kidney function filed feeding prescribing's renal warnings."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Filing, InboundMessage, ResultObservation, ResultReport
from orders.rules.hl7 import MessageRefused, hl7_datetime, normalise, parse_result_message
from orders.services.results import results_receive
from prescribing.services.prescriptions import findings_for
from tests.factories import PatientFactory
from tests.factories.prescribing import product
from tests.support import third_party_testdata, token_client


def oru(patient, *, control="MSG0001", obx=None, family=None, dob=None, separator="\r") -> str:
    rows = obx or [
        "OBX|1|NM|2823-3^Potassium^LN||6.8|mmol/L|3.5-5.3|HH|||F|||202612010930",
        "NTE|1||Sample slightly haemolysed \\T\\ repeat advised",
        "OBX|2|NM|2951-2^Sodium^LN||139|mmol/L|133-146|N|||F",
        "OBX|3|NM|62238-1^eGFR^LN||25|mL/min/1.73m2|>90|L|||F",
    ]
    segments = [
        f"MSH|^~\\&|WINPATH|RXX01|EPR|RXX|20261201094500||ORU^R01|{control}|P|2.4",
        f"PID|||{patient.hospital_number}^^^RXX^MR~{patient.nhs_number}^^^NHS^NH||"
        f"{family or patient.family_name}^{patient.given_names}||{(dob or patient.date_of_birth):%Y%m%d}",
        "OBR|1|ORD123|LAB456|U&E^Urea and electrolytes^L|||202612010900|||||||||||||||202612010940|||F",
        *rows,
    ]
    return separator.join(segments) + separator


@pytest.fixture
def patient(db):
    return PatientFactory(family_name="O'Neil", given_names="Anne", date_of_birth=date(1950, 2, 3))


def test_an_oru_is_filed_with_its_values_units_ranges_flags_and_notes(patient):
    answer = results_receive(oru(patient), channel="test")
    assert answer.code == "AA" and "MSA|AA|MSG0001" in answer.ack
    report = ResultReport.objects.get()
    assert (
        report.patient == patient and report.filing == Filing.UNSOLICITED and report.placer_number == "ORD123"
    )
    potassium = ResultObservation.objects.get(code="2823-3")
    assert (potassium.value_number, potassium.unit, potassium.reference_range, potassium.flag) == (
        Decimal("6.8"),
        "mmol/L",
        "3.5-5.3",
        "HH",
    )
    assert potassium.notes == "Sample slightly haemolysed & repeat advised"
    assert potassium.patient == patient


@pytest.mark.parametrize("separator", ["\r", "\r\n", "\n"])
def test_any_line_ending_is_read(patient, separator):
    assert results_receive(oru(patient, separator=separator), channel="test").code == "AA"
    assert ResultObservation.objects.count() == 3


def test_the_same_message_twice_files_once_and_is_answered_the_same(patient):
    first = results_receive(oru(patient), channel="test")
    second = results_receive(oru(patient), channel="test")
    assert second.code == "AA" and second.repeated and second.ack == first.ack
    assert ResultReport.objects.count() == 1 and InboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_copies_at_once_file_once():
    patient = PatientFactory(family_name="Jones", given_names="Ann", date_of_birth=date(1960, 1, 1))
    barrier = threading.Barrier(2)
    codes: list[str] = []

    def send():
        try:
            barrier.wait()
            codes.append(results_receive(oru(patient, control="SAME1"), channel="test").code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == ["AA", "AA"]
    assert ResultReport.objects.count() == 1


def test_a_family_name_that_disagrees_sends_the_report_to_the_unmatched_queue(patient):
    assert results_receive(oru(patient, family="Smith"), channel="test").code == "AA"
    report = ResultReport.objects.get()
    assert report.patient is None and report.filing == Filing.UNMATCHED
    assert "family name" in report.mismatch and report.sent_family_name == "Smith"
    assert not ResultObservation.objects.filter(patient__isnull=False).exists()


def test_a_date_of_birth_that_disagrees_is_not_filed_to_the_record(patient):
    results_receive(oru(patient, dob=date(1950, 2, 4)), channel="test")
    assert ResultReport.objects.get().filing == Filing.UNMATCHED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "MSH"),
        ("PID|||1\r", "MSH"),
        ("MSH|^~\\&|A|B|C|D|20260101||ADT^A01|X1|P|2.4\rPID|||1\r", "Only ORU"),
        ("MSH|^~\\&|A|B|C|D|20260101||ORU^R01||P|2.4\rPID|||1\r", "MSH-10"),
        ("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|X2|P|9.9\rPID|||1\r", "version 9.9"),
        ("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|X3|P|2.4\rOBR|1\r", "no PID"),
        ("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|X4|P|2.4\rPID|||1\r", "no OBR"),
    ],
)
def test_a_message_that_cannot_be_filed_is_rejected_with_its_reason(db, text, expected):
    answer = results_receive(text, channel="test")
    assert answer.code == "AR" and expected in answer.ack and "ERR|" in answer.ack
    assert not ResultReport.objects.exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261201", "2026-12-01T00:00:00+00:00"),  # winter: UK time is UTC
        ("202607011230", "2026-07-01T11:30:00+00:00"),  # summer: BST
        ("20190514102527+0200", "2019-05-14T08:25:27+00:00"),
        ("20261301", None),
        ("", None),
    ],
)
def test_hl7_times(value, expected):
    moment = hl7_datetime(value)
    assert (moment.isoformat() if moment else None) == expected


def test_a_structured_numeric_and_a_coded_value(patient):
    rows = [
        "OBX|1|SN|777-3^Platelets^LN||<^149|10*9/L|150-400|L|||F",
        "OBX|2|CWE|600-7^Blood culture^LN||NG^No growth^L||||||F",
    ]
    results_receive(oru(patient, obx=rows), channel="test")
    platelets, culture = ResultObservation.objects.order_by("set_id")
    assert (platelets.comparator, platelets.value_number, platelets.value_text) == (
        "<",
        Decimal("149"),
        "149",
    )
    assert culture.value_text == "No growth"


def test_real_world_results_messages_are_read_or_refused_with_a_reason():
    folder = third_party_testdata("hl7v2", "HL7 v2 messages from NHS specifications and parser test suites")
    read, reasons = 0, {}
    for path in sorted(folder.glob("*.hl7")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        is_result = "|ORU" in normalise(text).split("\r", 1)[0]
        try:
            parsed = parse_result_message(text)
        except MessageRefused as exc:
            reasons[path.name] = str(exc)
            continue
        read += 1
        assert is_result and parsed.control_id and parsed.reports, path.name
    print(f"read {read}, refused {len(reasons)}: {reasons}")
    assert read >= 10 and all(reasons.values())


def test_the_nhs_wales_pathology_example_reads_its_fbc_and_corrected_hba1c():
    path = third_party_testdata("hl7v2/dhcw_7.2_pathology_result_hba1c_fbc.hl7", "NHS Wales ORU example")
    parsed = parse_result_message(path.read_bytes().decode())
    assert parsed.patient.nhs_number == "5189214567" and parsed.patient.family_name == "Bloggs"
    hba1c, fbc = parsed.reports
    assert hba1c.observations[0].status == "C" and hba1c.observations[0].flag == "H"
    assert len(fbc.observations) == 7
    assert any("10^9/L" in o.unit for o in fbc.observations)  # \S\ unescaped to ^


def test_the_endpoint_answers_an_ack_to_a_scoped_client_and_refuses_others(client, patient):
    sender = token_client(client, "Pathology", ["system/*.write"])
    response = sender.post("/hl7/v2", oru(patient), content_type="x-application/hl7-v2+er7")
    assert response.status_code == 200 and response["Content-Type"].startswith("x-application/hl7-v2+er7")
    assert b"MSA|AA|MSG0001" in response.content
    garbage = sender.post("/hl7/v2", "not hl7 at all", content_type="text/plain")
    assert garbage.status_code == 200 and b"MSA|AR" in garbage.content
    reader = token_client(client, "Reader", ["system/*.read"])
    assert reader.post("/hl7/v2", oru(patient, control="M2"), content_type="text/plain").status_code == 403
    assert client.post("/hl7/v2", oru(patient, control="M3"), content_type="text/plain").status_code in (
        401,
        403,
    )
    assert ResultReport.objects.count() == 1


def test_a_filed_egfr_feeds_prescribings_renal_warning(patient):
    metformin = product("Metformin 500mg tablets", "Metformin hydrochloride")
    assert findings_for(patient, metformin) == []
    results_receive(oru(patient), channel="test")
    (pending,) = findings_for(patient, metformin)
    assert pending.finding.kind == "renal" and "was 25" in pending.finding.message


def test_a_corrected_value_replaces_the_earlier_one_visibly(admitted, nurse):
    from django.urls import reverse

    from tests.support import signed_in

    patient = admitted.patient
    first = oru(patient, control="C1", obx=["OBX|1|NM|2823-3^Potassium^LN||6.8|mmol/L|3.5-5.3|HH|||F"])
    corrected = oru(patient, control="C2", obx=["OBX|1|NM|2823-3^Potassium^LN||4.6|mmol/L|3.5-5.3||||C"])
    results_receive(first, channel="test")
    results_receive(corrected, channel="test")
    old, new = ResultObservation.objects.order_by("pk")
    assert old.superseded_by == new and new.value_number == Decimal("4.6")
    assert old.history.count() == 2  # created, then superseded: both kept
    page = signed_in(nurse).get(reverse("orders:results", args=[patient.pk])).content.decode()
    assert 'data-testid="corrected"' in page and "<s>6.8</s>" in page


def test_a_sample_message_carries_its_report_time_and_status_where_hl7_puts_them(patient):
    from orders.samples import oru_for

    results_receive(oru_for(patient, "FBC", control_id="S1"), channel="test")
    report = ResultReport.objects.get()
    assert report.issued_at is not None and report.status == "F" and report.filler_number


def test_values_too_big_or_too_long_for_the_tables_are_refused_or_kept_as_text(patient):
    huge = ["OBX|1|NM|2823-3^Potassium^LN||1e40|mmol/L|3.5-5.3||||F"]
    assert results_receive(oru(patient, control="B1", obx=huge), channel="test").code == "AA"
    assert ResultObservation.objects.get().value_number is None  # kept as text only
    too_long = [f"OBX|1|NM|2823-3^Potassium^LN||4.1|{'m' * 300}|3.5-5.3||||F"]
    answer = results_receive(oru(patient, control="B2", obx=too_long), channel="test")
    assert answer.code == "AR" and "longer than this system accepts" in answer.ack
    assert ResultReport.objects.count() == 1
