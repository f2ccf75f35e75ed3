"""Discharge summaries and clinic letters: prefilled from the document-section registry, saved with a
version check, signed once with the mandatory headings enforced, rendered as a PDF and a FHIR document
Bundle, and sent to the GP (and the patient) through the outbox, retried when it fails."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import AuditEvent
from orders.samples import oru_for
from orders.services.results import results_receive
from records import services as records_services
from records.errors import RecordError, StaleEdit
from records.registries import documents as registry
from records.registries.documents import DISCHARGE_SUMMARY, DocumentSection, SectionDraft
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    ClinicalDocument,
    ClinicSession,
    DeliveryState,
    DocumentDelivery,
    DocumentKind,
    DocumentStatus,
    Slot,
)
from scheduling.renderings import document_bundle
from scheduling.selectors import documents as selectors
from scheduling.services import delivery
from scheduling.services import documents as services
from tests.factories import PatientFactory, UserFactory
from tests.support import require_tool, signed_in, third_party_testdata

SUMMARY = "Pneumonia, treated with amoxicillin; recovered."


_capture = None


@pytest.fixture(autouse=True)
def _after_commit(django_capture_on_commit_callbacks):
    """Run what a service queues after commit (the sending, the discharge's draft) at the end of the
    block, as a real commit would; in a transactional test they run at commit anyway."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield
    _capture = None


def committed():
    return _capture(execute=True)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EPR_DOCUMENTS_OUTBOX = str(tmp_path / "outbox")
    return tmp_path / "outbox"


@pytest.fixture
def with_gp(admitted):
    patient = admitted.patient
    patient.gp_practice_code, patient.gp_practice_name = "B86001", "Demo Medical Practice"
    patient.address_line_1, patient.postcode = "1 High Street", "LS1 1AA"
    patient.save()
    return admitted


def discharge(encounter, doctor):
    with committed():
        return records_services.encounter_discharge(
            discharged_by=doctor, encounter=encounter, destination="19"
        )


def summary_for(encounter, doctor) -> ClinicalDocument:
    return services.discharge_summary_start(encounter=encounter, author=doctor)


def completed(document, doctor, **texts) -> ClinicalDocument:
    return services.document_save(
        document=document,
        texts={"clinical-summary": SUMMARY, **texts},
        version=document.version,
        saved_by=doctor,
    )


def signed(encounter, doctor) -> ClinicalDocument:
    document = completed(summary_for(encounter, doctor), doctor)
    with committed():
        return services.document_sign(document=document, version=document.version, signed_by=doctor)


def seen_appointment(patient, doctor, ward) -> Appointment:
    code = f"RESP{Clinic.objects.count() + 1}"
    clinic = Clinic.objects.create(
        code=code,
        staff_group=Group.objects.create(name=f"clinic:{code}"),
        name="Respiratory clinic",
        specialty="340",
        consultant=doctor,
        site=ward.site,
    )
    start = timezone.now() - timedelta(hours=2)
    session = ClinicSession.objects.create(clinic=clinic, starts_at=start, ends_at=start + timedelta(hours=3))
    slot = Slot.objects.create(
        session=session, starts_at=start, ends_at=start + timedelta(minutes=20), slot_type="new"
    )
    return Appointment.objects.create(
        slot=slot, patient=patient, status=AppointmentStatus.SEEN, booked_by=doctor, booked_at=start
    )


# --- prefill ----------------------------------------------------------------------------------


def _test_section(context):
    return SectionDraft((f"Test line for {context.patient.family_name}",))


def test_a_section_another_app_registers_is_prefilled_in_its_place(admitted, doctor):
    section = DocumentSection(
        "test-legal",
        "Legal information",
        frozenset({DISCHARGE_SUMMARY}),
        _test_section,
        order=65,
        mandatory=True,
    )
    registry.register_document_section(section)
    try:
        document = summary_for(admitted, doctor)
        keys = [h.key for h in selectors.headings(DocumentKind.DISCHARGE_SUMMARY)]
        assert keys.index("diagnoses") < keys.index("test-legal") < keys.index("discharge-details")
        assert document.sections["test-legal"] == "Test line for Smith"
        assert document.sections["allergies"] == "No allergies recorded: allergy status not known."
        assert "Admitted:" in document.sections["admission-details"]
    finally:
        registry._sections.pop("test-legal")


def test_the_discharge_signal_starts_the_draft_once(admitted, doctor):
    discharge(admitted, doctor)
    documents = ClinicalDocument.objects.filter(encounter=admitted)
    assert documents.count() == 1
    assert "Destination: Usual place of residence" in documents.get().sections["discharge-details"]
    assert summary_for(admitted, doctor).pk == documents.get().pk


def test_a_draft_begun_before_discharge_gets_the_discharge_details(admitted, doctor):
    document = summary_for(admitted, doctor)
    assert document.sections["discharge-details"].startswith("Not yet discharged")
    discharge(admitted, doctor)
    document.refresh_from_db()
    assert "Destination: Usual place of residence" in document.sections["discharge-details"]


def test_results_of_the_admission_are_prefilled_abnormal_first(admitted, doctor):
    admitted.admitted_at = timezone.now() - timedelta(days=1)
    admitted.save(update_fields=["admitted_at"])
    before = timezone.now() - timedelta(days=2)
    results_receive(oru_for(admitted.patient, "FBC", taken_at=before), channel="test")  # before admission
    taken = timezone.now() - timedelta(minutes=30)
    results_receive(oru_for(admitted.patient, "U&E", taken_at=taken), channel="test")
    results_receive(oru_for(admitted.patient, "CRP", values={"1988-5": Decimal(120)}), channel="test")
    lines = summary_for(admitted, doctor).sections["investigation-results"].splitlines()
    assert len(lines) == 2
    assert "[abnormal]" in lines[0] and "[abnormal]" not in lines[1]


# --- saving and signing -----------------------------------------------------------------------


def test_a_save_changes_only_the_sections_given_and_a_stale_one_is_refused(admitted, doctor):
    document = summary_for(admitted, doctor)
    before = dict(document.sections)
    saved = services.document_save(
        document=document, texts={"plan": "Review in clinic."}, version=document.version, saved_by=doctor
    )
    assert saved.version == document.version + 1
    assert saved.sections == {**before, "plan": "Review in clinic."}
    with pytest.raises(StaleEdit):
        services.document_save(
            document=saved, texts={"plan": "Other"}, version=document.version, saved_by=doctor
        )
    assert ClinicalDocument.objects.get(pk=document.pk).sections["plan"] == "Review in clinic."
    assert saved.history.count() == 2


def test_mandatory_headings_are_enforced_at_signing(admitted, doctor):
    document = summary_for(admitted, doctor)
    document = services.document_save(
        document=document, texts={"allergies": ""}, version=document.version, saved_by=doctor
    )
    with pytest.raises(RecordError) as refused:
        services.document_sign(document=document, version=document.version, signed_by=doctor)
    assert set(refused.value.errors) == {"allergies", "clinical-summary"}
    assert ClinicalDocument.objects.get(pk=document.pk).status == DocumentStatus.DRAFT
    assert not DocumentDelivery.objects.exists()


def test_signing_locks_freezes_the_fixed_headings_and_sends(with_gp, doctor, outbox):
    document = signed(with_gp, doctor)
    assert document.status == DocumentStatus.SIGNED and document.signed_by == doctor
    assert "NHS number: 999 000 0018" in document.sections["patient-demographics"]
    assert document.sections["gp-practice"] == "Demo Medical Practice (ODS code B86001)"
    with pytest.raises(RecordError, match="signed by"):
        services.document_save(
            document=document, texts={"plan": "x"}, version=document.version, saved_by=doctor
        )
    (sent,) = document.deliveries.all()
    assert (sent.recipient, sent.address, sent.state, sent.attempts) == (
        "gp",
        "B86001",
        DeliveryState.SENT,
        1,
    )
    folder = outbox / "gp" / "B86001"
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".pdf"]
    bundle = json.loads(next(folder.glob("*.json")).read_text())
    assert bundle["type"] == "document"


@pytest.mark.django_db(transaction=True)
def test_two_signs_at_once_one_wins(with_gp, doctor, outbox):
    document = completed(summary_for(with_gp, doctor), doctor)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def sign():
        try:
            barrier.wait()
            services.document_sign(document=document, version=document.version, signed_by=doctor)
            results.append("signed")
        except RecordError as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("signed") == 1
    assert any(r.startswith("This discharge summary was signed by") for r in results)
    assert DocumentDelivery.objects.filter(document=document).count() == 1


def test_two_starts_share_one_summary(admitted, doctor):
    first, second = summary_for(admitted, doctor), summary_for(admitted, doctor)
    assert first.pk == second.pk


def test_no_gp_practice_signs_but_says_why_it_was_not_sent(admitted, doctor, outbox):
    document = signed(admitted, doctor)
    (gp,) = document.deliveries.all()
    assert gp.state == DeliveryState.FAILED and "no GP practice" in gp.last_error and gp.attempts == 0
    assert document.sections["gp-practice"] == "No GP practice recorded."
    assert delivery.deliveries_resend(older_than=timedelta(0)) == 0
    assert not outbox.exists()


# --- outputs ---------------------------------------------------------------------------------


def test_the_pdf_has_the_header_page_numbers_and_the_sections(with_gp, doctor, outbox):
    tool = require_tool("pdftotext", "poppler-utils")
    signed(with_gp, doctor)
    pdf = next((outbox / "gp" / "B86001").glob("*.pdf"))
    text = subprocess.run(  # noqa: S603 (a fixed tool on a file this test wrote)
        [tool, "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "NHS Confidential" in text and "Page 1 of" in text
    assert "Discharge summary" in text and "Clinical summary" in text and SUMMARY in text
    assert "Demo Medical Practice (ODS code B86001)" in text


def test_the_bundle_validates_and_codes_its_sections(with_gp, doctor, outbox):
    from fhir.resources.R4B.bundle import Bundle

    document = signed(with_gp, doctor)
    bundle = document_bundle(document, selectors.printed_sections(document))
    Bundle.model_validate(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "373942005"
    assert composition["status"] == "final"
    codes = {s["title"]: s["code"]["coding"][0]["code"] for s in composition["section"] if "code" in s}
    assert codes["Allergies and adverse reactions"] == "886921000000105"
    assert codes["Patient demographics"] == "886731000000109"
    assert codes["Person completing record"] == "887231000000104"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types == ["Composition", "Patient", "Practitioner", "Organization"]
    references = {composition["subject"]["reference"], composition["author"][0]["reference"]}
    assert references <= {e["fullUrl"] for e in bundle["entry"]}


def test_section_codes_match_the_uk_core_example(with_gp, doctor, outbox):
    example = third_party_testdata(
        "ukcore/json_derived/UKCore-Composition-Discharge-Example.json", "The UK Core Composition example"
    )
    theirs = {c["code"] for s in json.loads(example.read_text())["section"] for c in s["code"]["coding"]}
    document = signed(with_gp, doctor)
    composition = document_bundle(document, selectors.printed_sections(document))["entry"][0]["resource"]
    ours = {c["code"] for s in composition["section"] for c in s.get("code", {}).get("coding", [])}
    for shared in (
        "allergies-and-adverse-reaction",
        "patient-demographics",
        "person-completing-record",
        "diagnoses",
    ):
        assert shared in theirs and shared in ours


def test_a_clinic_letter_goes_to_the_gp_and_a_copy_to_the_patient(with_gp, doctor, ward, outbox):
    from fhir.resources.R4B.bundle import Bundle

    appointment = seen_appointment(with_gp.patient, doctor, ward)
    letter = services.clinic_letter_start(appointment=appointment, author=doctor)
    assert "Respiratory clinic" in letter.sections["attendance-details"]
    assert services.clinic_letter_start(appointment=appointment, author=doctor).pk == letter.pk
    letter = completed(letter, doctor)
    with committed():
        letter = services.document_sign(document=letter, version=letter.version, signed_by=doctor)
    states = {(d.recipient, d.state) for d in letter.deliveries.all()}
    assert states == {("gp", "sent"), ("patient", "sent")}
    assert list((outbox / "patients-print").glob("*.pdf"))
    bundle = json.loads(next((outbox / "gp" / "B86001").glob("*.json")).read_text())
    Bundle.model_validate(bundle)
    assert bundle["entry"][0]["resource"]["type"]["coding"][0]["code"] == "823681000000100"


def test_a_letter_waits_until_the_patient_was_seen(admitted, doctor, ward):
    appointment = seen_appointment(admitted.patient, doctor, ward)
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.BOOKED)
    with pytest.raises(RecordError, match="after the patient has been seen"):
        services.clinic_letter_start(appointment=appointment, author=doctor)


def test_an_unwritable_outbox_fails_visibly_and_is_retried(with_gp, doctor, settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    settings.EPR_DOCUMENTS_OUTBOX = str(blocked)
    document = signed(with_gp, doctor)
    (gp,) = document.deliveries.all()
    assert gp.state == DeliveryState.FAILED and gp.attempts == 1
    assert "Could not write to the documents outbox" in gp.last_error
    page = signed_in(doctor).get(reverse("scheduling:document_edit", args=[with_gp.patient.pk, document.pk]))
    assert "Could not write to the documents outbox" in page.content.decode()
    settings.EPR_DOCUMENTS_OUTBOX = str(tmp_path / "fixed")
    DocumentDelivery.objects.filter(pk=gp.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert delivery.deliveries_resend() == 1  # eager Celery: sent on the spot
    gp.refresh_from_db()
    assert gp.state == DeliveryState.SENT and gp.attempts == 2 and gp.last_error == ""
    assert delivery.delivery_send(delivery_id=gp.pk) == DeliveryState.SENT  # a retry writes nothing twice
    gp.refresh_from_db()
    assert gp.attempts == 2


def test_an_acknowledgement_file_marks_it_received(with_gp, doctor, outbox):
    (gp,) = signed(with_gp, doctor).deliveries.all()
    assert delivery.acknowledgements_collect() == 0
    (outbox / f"{gp.file_name}.ack").write_text("ok")
    assert delivery.acknowledgements_collect() == 1
    gp.refresh_from_db()
    assert gp.state == DeliveryState.ACKNOWLEDGED and gp.acknowledged_at is not None


# --- pages ---------------------------------------------------------------------------------------


def test_the_doctor_writes_and_signs_through_the_pages(with_gp, doctor, outbox):
    client = signed_in(doctor)
    patient = with_gp.patient
    letters = client.get(reverse("scheduling:patient_documents", args=[patient.pk]))
    assert letters.status_code == 200 and "Write discharge summary" in letters.content.decode()
    started = client.post(reverse("scheduling:document_start", args=[patient.pk]), {"encounter": with_gp.pk})
    document = ClinicalDocument.objects.get(encounter=with_gp)
    url = reverse("scheduling:document_edit", args=[patient.pk, document.pk])
    assert started.url == url
    page = client.get(url).content.decode()
    assert "Clinical summary (required)" in page and "No allergies recorded" in page
    refused = client.post(url, {"version": document.version, "action": "sign", "clinical-summary": ""})
    assert refused.status_code == 400 and "Complete “Clinical summary”" in refused.content.decode()
    assert ClinicalDocument.objects.get(pk=document.pk).version == document.version  # nothing half-saved
    with committed():
        done = client.post(url, {"version": document.version, "action": "sign", "clinical-summary": SUMMARY})
    assert done.status_code == 302
    document.refresh_from_db()
    assert document.status == DocumentStatus.SIGNED and document.sections["clinical-summary"] == SUMMARY
    shown = client.get(url).content.decode()
    assert "Download PDF" in shown and "Sent" in shown and "<textarea" not in shown
    pdf = client.get(reverse("scheduling:document_download", args=[patient.pk, document.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.post(url, {"version": document.version, "action": "save", "plan": "x"}).status_code == 302
    document.refresh_from_db()
    assert document.sections["plan"] == ""


def test_a_stale_edit_through_the_page_is_refused(admitted, doctor):
    client = signed_in(doctor)
    document = summary_for(admitted, doctor)
    url = reverse("scheduling:document_edit", args=[admitted.patient.pk, document.pk])
    services.document_save(
        document=document, texts={"plan": "First"}, version=document.version, saved_by=doctor
    )
    answer = client.post(url, {"version": document.version, "action": "save", "plan": "Second"})
    assert answer.status_code == 400 and "Someone else changed this record" in answer.content.decode()
    assert ClinicalDocument.objects.get(pk=document.pk).sections["plan"] == "First"


def test_the_access_door_and_roles(admitted, doctor, nurse, clerk):
    document = summary_for(admitted, doctor)
    stranger = PatientFactory()
    outsider = signed_in(doctor).get(reverse("scheduling:patient_documents", args=[stranger.pk]))
    assert outsider.status_code == 403  # no care relationship: the break-glass page
    other = signed_in(doctor).get(reverse("scheduling:document_edit", args=[stranger.pk, document.pk]))
    assert other.status_code == 403
    nurse_page = signed_in(nurse).get(
        reverse("scheduling:document_edit", args=[admitted.patient.pk, document.pk])
    )
    assert nurse_page.status_code == 200 and "<textarea" not in nurse_page.content.decode()
    posted = signed_in(nurse).post(
        reverse("scheduling:document_start", args=[admitted.patient.pk]), {"encounter": admitted.pk}
    )
    assert posted.status_code == 403


def test_pages_and_changes_are_audited(with_gp, doctor, outbox):
    client = signed_in(doctor)
    patient = with_gp.patient
    mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    client.post(reverse("scheduling:document_start", args=[patient.pk]), {"encounter": with_gp.pk})
    document = ClinicalDocument.objects.get(encounter=with_gp)
    url = reverse("scheduling:document_edit", args=[patient.pk, document.pk])
    with committed():
        client.post(url, {"version": document.version, "action": "sign", "clinical-summary": SUMMARY})
    client.get(reverse("scheduling:document_download", args=[patient.pk, document.pk]))
    events = AuditEvent.objects.filter(pk__gt=mark, patient_id=patient.pk)
    actions = list(events.filter(object_type="scheduling.ClinicalDocument").values_list("action", flat=True))
    assert actions.count("create") == 1 and actions.count("update") == 2 and "export" in actions


def test_the_letters_page_queries_do_not_grow_with_documents(admitted, doctor, ward, outbox):
    client = signed_in(doctor)
    url = reverse("scheduling:patient_documents", args=[admitted.patient.pk])
    signed(admitted, doctor)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(3):
        appointment = seen_appointment(admitted.patient, doctor, ward)
        letter = completed(services.clinic_letter_start(appointment=appointment, author=doctor), doctor)
        services.document_sign(document=letter, version=letter.version, signed_by=doctor)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_the_demo_loader_signs_and_sends_one(ward, outbox):
    from scheduling.demo.documents import load_documents_demo

    UserFactory(username="doctor", role="doctor")
    PatientFactory(gp_practice_code="B86001", gp_practice_name="Demo Medical Practice")
    with committed():
        assert "signed discharge summary" in load_documents_demo(print)
    document = ClinicalDocument.objects.get(status=DocumentStatus.SIGNED)
    assert document.kind == DocumentKind.DISCHARGE_SUMMARY
    assert document.deliveries.get().state == DeliveryState.SENT
    assert list(Path(outbox).glob("gp/*/*.json"))
    assert load_documents_demo(print) == "Documents: already loaded."
