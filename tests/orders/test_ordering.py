"""Ordering through the service and the pages: the catalogue loads and refuses bad rows; who may
order what; required answers refused; duplicates and conflicts warned and overridden with a kept
reason; an order set places one order per test; the order goes out as HL7 v2 to the outbox; a
specimen is collected once; cancellation tells the department; results file to their order by
placer number and never to another patient's record; the ward and requester lists."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import hl7
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import (
    Filing,
    Order,
    OrderableTest,
    OrderSet,
    OrderStatus,
    OrderWarning,
    OutboundMessage,
    ResultReport,
    SendState,
)
from orders.samples import oru_for
from orders.services.catalogue import CatalogueError, catalogue_load
from orders.services.requests import (
    WarningsNeedReasons,
    order_cancel,
    orders_place,
    specimen_collect,
)
from orders.services.results import results_receive
from records import services as records_services
from records.errors import RecordError
from tests.factories import PatientFactory
from tests.support import signed_in


@pytest.fixture
def catalogue(db):
    catalogue_load()
    return {t.code: t for t in OrderableTest.objects.all()}


@pytest.fixture
def registrar(doctor):
    doctor.grade = "registrar"
    doctor.save(update_fields=["grade"])
    return doctor


def place(user, patient, *codes, **kwargs):
    return orders_place(
        requested_by=user, patient=patient, tests=[OrderableTest.objects.get(code=c) for c in codes], **kwargs
    )


def test_the_shipped_catalogue_loads_twice_to_the_same_rows(catalogue):
    assert len(catalogue) >= 50 and OrderSet.objects.get(code="admission-bloods").items.count() == 7
    assert catalogue["CTPA"].contrast == "iodinated" and catalogue["CTPA"].min_referrer_grade == "fy2"
    again = catalogue_load()
    assert again.tests == len(catalogue) and OrderableTest.objects.count() == len(catalogue)


def test_a_catalogue_row_with_a_misspelt_code_is_refused_with_its_line(tmp_path: Path, db):
    source = Path(settings.BASE_DIR) / "orders" / "data"
    for name in ("tests.tsv", "questions.tsv", "order_sets.tsv"):
        (tmp_path / name).write_text((source / name).read_text())
    text = (tmp_path / "tests.tsv").read_text().replace("26604007", "26604008", 1)
    (tmp_path / "tests.tsv").write_text(text)
    with pytest.raises(CatalogueError, match=r"tests.tsv line \d+ \(FBC\): SNOMED CT code '26604008'"):
        catalogue_load(tmp_path)
    assert not OrderableTest.objects.exists()  # nothing half-loaded


def test_a_doctor_orders_a_full_blood_count_and_it_goes_to_the_outbox(
    catalogue, admitted, doctor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (order,) = place(doctor, admitted.patient, "FBC", clinical_details="Anaemia?")
    order.refresh_from_db()
    assert order.number.startswith("EPR") and order.encounter == admitted and order.status == OrderStatus.SENT
    assert order.send_state == SendState.SENT and order.specimen.container == "Lavender top (EDTA)"
    message = OutboundMessage.objects.get(order=order)
    written = Path(settings.EPR_ORDERS_OUTBOX) / f"{message.control_id}.hl7"
    parsed = hl7.parse(written.read_bytes().decode())  # read_text() would turn CR into LF
    assert str(parsed.segment("OBR")[2][0][0]) == order.number
    assert str(parsed.segment("PID")[3][0][0]) == admitted.patient.nhs_number
    assert str(parsed.segment("PV1")[3][0][0]) == admitted.ward_stays.get().ward.code


def test_who_may_order_imaging_follows_the_referrer_grade(catalogue, patient, doctor, nurse):
    answers = {"CTH": {"question": "Bleed?", "anticoagulated": "No"}}
    with pytest.raises(RecordError, match="grade FY2 or above") as refused:
        place(doctor, patient, "CTH", answers=answers)
    assert "CTH" in refused.value.errors
    with pytest.raises(RecordError, match="not by your role"):
        place(nurse, patient, "CTH", answers=answers)
    doctor.grade = "fy2"
    doctor.save(update_fields=["grade"])
    assert place(doctor, patient, "CTH", answers=answers)[0].test.code == "CTH"


def test_a_missing_required_answer_is_refused_and_cannot_be_overridden(catalogue, patient, doctor):
    with pytest.raises(RecordError) as refused:
        place(doctor, patient, "BC", answers={"BC": {"antibiotics": "No"}}, reasons={"bc-sets": "urgent"})
    assert set(refused.value.errors) == {"BC-sets"} and not Order.objects.exists()


def test_the_pregnancy_question_is_asked_only_of_who_could_be_pregnant(catalogue, registrar):
    man = PatientFactory(sex="male")
    woman = PatientFactory(sex="female", date_of_birth=date(1990, 5, 1))
    answers = {"CXR": {"question": "Consolidation?", "mobility": "Walking"}}
    assert place(registrar, man, "CXR", answers=answers)
    with pytest.raises(RecordError) as refused:
        place(registrar, woman, "CXR", answers=answers)
    assert set(refused.value.errors) == {"CXR-pregnancy"}


def test_a_duplicate_outstanding_order_warns_and_the_reason_is_kept(catalogue, patient, doctor):
    place(doctor, patient, "FBC")
    with pytest.raises(WarningsNeedReasons) as warned:
        place(doctor, patient, "FBC")
    (pending,) = warned.value.pending
    assert pending.warning.kind == "outstanding" and Order.objects.count() == 1
    (second,) = place(
        doctor, patient, "FBC", reasons={pending.key: "Haemolysed: repeat requested by the lab"}
    )
    assert OrderWarning.objects.get(order=second).reason == "Haemolysed: repeat requested by the lab"


def test_a_resulted_test_inside_its_retest_interval_warns(catalogue, patient, doctor):
    (first,) = place(doctor, patient, "HBA1C")
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.FINAL)
    with pytest.raises(WarningsNeedReasons) as warned:
        place(doctor, patient, "HBA1C")
    assert [p.warning.kind for p in warned.value.pending] == ["duplicate"]


def test_contrast_with_a_recorded_contrast_allergy_warns(catalogue, patient, registrar):
    records_services.allergy_record(
        recorded_by=registrar,
        patient=patient,
        substance_text="Iodinated contrast media",
        reaction="Urticaria",
    )
    answers = {"CTPA": {"question": "PE?", "contrast-allergy": "Yes", "metformin": "No"}}
    if patient.sex == "female":
        answers["CTPA"]["pregnancy"] = "Not pregnant"
    with pytest.raises(WarningsNeedReasons) as warned:
        place(registrar, patient, "CTPA", answers=answers)
    assert [p.warning.kind for p in warned.value.pending] == ["contrast-allergy"]


def test_two_clicks_at_once_place_one_order_and_warn_the_second(catalogue, patient, doctor, transactional_db):
    outcomes: list[str] = []

    def click() -> None:
        try:
            place(doctor, patient, "CRP")
            outcomes.append("placed")
        except WarningsNeedReasons:
            outcomes.append("warned")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["placed", "warned"] and Order.objects.count() == 1


def test_an_order_set_places_one_order_per_test(catalogue, admitted, doctor):
    admission = OrderSet.objects.get(code="admission-bloods")
    placed = orders_place(
        requested_by=doctor,
        patient=admitted.patient,
        tests=[i.test for i in admission.items.all()],
        order_set=admission,
    )
    assert [o.test.code for o in placed] == ["FBC", "UE", "LFT", "CRP", "BONE", "MG", "COAG"]
    assert len({o.number for o in placed}) == 7 and all(o.order_set == admission for o in placed)


def test_a_specimen_is_collected_once(catalogue, patient, doctor, nurse):
    (order,) = place(doctor, patient, "FBC")
    specimen_collect(order=order, by=nurse)
    order.refresh_from_db()
    assert order.status == OrderStatus.COLLECTED
    with pytest.raises(RecordError, match="already recorded as collected by"):
        specimen_collect(order=order, by=doctor)


def test_cancelling_needs_a_reason_and_sends_a_cancellation(
    catalogue, patient, doctor, django_capture_on_commit_callbacks
):
    (order,) = place(doctor, patient, "LFT")
    with pytest.raises(RecordError, match="reason"):
        order_cancel(order=order, by=doctor, reason="  ", version=order.version)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, by=doctor, reason="Duplicate of the GP's request", version=order.version)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.history.first().history_change_reason.startswith(
        "Cancelled"
    )
    assert list(order.messages.values_list("event", flat=True)) == ["NW", "CA"]
    with pytest.raises(RecordError):
        order_cancel(order=order, by=doctor, reason="again", version=order.version)


def test_a_result_files_to_its_order_by_placer_number_and_moves_it_on(catalogue, admitted, doctor):
    (order,) = place(doctor, admitted.patient, "UE")
    results_receive(oru_for(admitted.patient, "U&E", placer=order.number), channel="test")
    report = ResultReport.objects.get()
    order.refresh_from_db()
    assert report.order == order and report.filing == Filing.FILED
    assert order.status == OrderStatus.FINAL and order.filler_number == report.filler_number


def test_a_result_naming_another_patients_order_is_not_filed_to_either_record(catalogue, admitted, doctor):
    (order,) = place(doctor, admitted.patient, "UE")
    someone_else = PatientFactory()
    results_receive(oru_for(someone_else, "U&E", placer=order.number), channel="test")
    report = ResultReport.objects.get()
    assert report.patient is None and report.filing == Filing.UNMATCHED and order.number in report.mismatch
    order.refresh_from_db()
    assert order.status != OrderStatus.FINAL


def test_a_result_with_an_unknown_order_number_is_filed_unsolicited(catalogue, admitted):
    results_receive(oru_for(admitted.patient, "U&E", placer="EPR99999999"), channel="test")
    report = ResultReport.objects.get()
    assert report.filing == Filing.UNSOLICITED and report.patient == admitted.patient and report.order is None


# Pages


def test_the_order_page_prefills_and_shows_warnings_before_saving(catalogue, admitted, doctor):
    place(doctor, admitted.patient, "FBC")
    client = signed_in(doctor)
    url = reverse("orders:order_new", args=[admitted.patient.pk])
    page = client.get(url, {"set": "admission-bloods"})
    assert page.status_code == 200 and b'data-testid="warning-outstanding"' in page.content
    tests = ["FBC", "UE", "LFT", "CRP", "BONE", "MG", "COAG"]
    posted = client.post(url, {"set": "admission-bloods", "tests": tests, "priority": "urgent"})
    assert posted.status_code == 200 and b"Give a reason to order despite this" in posted.content
    assert Order.objects.count() == 1
    key = "fbc-outstanding"
    done = client.post(
        url,
        {"set": "admission-bloods", "tests": tests, "priority": "urgent", f"reason__{key}": "Clotted sample"},
    )
    assert done.status_code == 302 and Order.objects.count() == 8
    assert set(Order.objects.exclude(priority="routine").values_list("priority", flat=True)) == {"urgent"}


def test_unticking_the_duplicate_of_a_set_places_the_rest_without_a_reason(catalogue, admitted, doctor):
    place(doctor, admitted.patient, "FBC")
    client = signed_in(doctor)
    url = reverse("orders:order_new", args=[admitted.patient.pk])
    rest = ["UE", "LFT", "CRP", "BONE", "MG", "COAG"]
    done = client.post(url, {"set": "admission-bloods", "tests": rest, "priority": "routine"})
    assert done.status_code == 302 and Order.objects.count() == 7
    none_ticked = client.post(url, {"set": "admission-bloods", "priority": "routine"})
    assert none_ticked.status_code == 200 and b"No test was ticked" in none_ticked.content


def test_a_refused_answer_is_shown_on_its_question(catalogue, admitted, doctor):
    client = signed_in(doctor)
    url = reverse("orders:order_new", args=[admitted.patient.pk])
    page = client.post(url, {"tests": ["BC"], "priority": "routine", "q__BC__antibiotics": "No"})
    assert page.status_code == 200 and b'id="q__BC__sets-error"' in page.content
    assert not Order.objects.exists()


def test_a_healthcare_assistant_may_order_an_ecg_but_not_bloods(catalogue, admitted, colleague):
    client = signed_in(colleague)
    url = reverse("orders:order_new", args=[admitted.patient.pk])
    offered = client.get(url).content.decode()
    assert 'value="ECG"' in offered and 'value="MRSA"' in offered and 'value="FBC"' not in offered
    refused = client.post(url, {"tests": ["FBC"], "priority": "routine"})
    assert refused.status_code == 200 and b"not by your role" in refused.content
    placed = client.post(url, {"tests": ["ECG"], "priority": "routine", "q__ECG__reason": "Palpitations"})
    assert placed.status_code == 302 and Order.objects.get().test.code == "ECG"


def test_the_specimen_label_is_a_pdf_with_the_order_number_barcode(catalogue, admitted, doctor, nurse):
    (order,) = place(doctor, admitted.patient, "FBC")
    response = signed_in(nurse).get(reverse("orders:specimen_label", args=[admitted.patient.pk, order.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and order.specimen.__class__.objects.get().labels_printed == 1


def test_a_nurse_without_a_care_relationship_cannot_open_an_order(catalogue, admitted, doctor, outsider):
    (order,) = place(doctor, admitted.patient, "FBC")
    page = signed_in(outsider).get(reverse("orders:order_detail", args=[admitted.patient.pk, order.pk]))
    assert page.status_code == 403


def test_an_order_of_another_patient_is_not_shown_under_this_one(catalogue, admitted, doctor, nurse):
    other = PatientFactory()
    (order,) = place(doctor, other, "FBC")
    page = signed_in(nurse).get(reverse("orders:order_detail", args=[admitted.patient.pk, order.pk]))
    assert page.status_code == 403


def test_the_ward_list_shows_unsent_and_urgent_first_in_constant_queries(
    catalogue, admitted, doctor, nurse, ward, bed
):
    client = signed_in(nurse)
    url = reverse("orders:ward_orders")
    (routine,) = place(doctor, admitted.patient, "LFT")
    (urgent,) = place(doctor, admitted.patient, "CRP", priority="stat")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index(urgent.number) < text.index(routine.number)
    Order.objects.filter(pk=routine.pk).update(send_state=SendState.FAILED)
    for _ in range(4):
        other = PatientFactory()
        records_services.encounter_admit(
            admitted_by=doctor,
            patient=other,
            ward=ward,
            bed=None,
            consultant=doctor,
            team=admitted.team,
            specialty="300",
            admission_method="21",
        )
        place(doctor, other, "FBC", "UE")
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    text = page.content.decode()
    assert text.index(routine.number) < text.index(urgent.number)  # not sent comes first
    assert text.count('data-testid="ward-order"') == 10
    assert len(many) == len(few)


def test_my_orders_shows_the_requesters_resulted_unacknowledged_orders(catalogue, admitted, doctor):
    (order,) = place(doctor, admitted.patient, "UE")
    results_receive(oru_for(admitted.patient, "U&E", placer=order.number), channel="test")
    page = signed_in(doctor).get(reverse("orders:my_orders"))
    assert page.status_code == 200 and b'data-testid="my-resulted"' in page.content
