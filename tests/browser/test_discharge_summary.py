"""Discharge summaries in a real browser: a doctor opens the patient's letters, starts the discharge
summary, completes the clinical summary, signs it, and the GP practice's outbox holds the FHIR
document Bundle; and saving one section of a draft changes that section and nothing else."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from scheduling.models import ClinicalDocument, DocumentStatus
from scheduling.services import documents as services

pytestmark = pytest.mark.browser


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EPR_DOCUMENTS_OUTBOX = str(tmp_path / "outbox")
    return tmp_path / "outbox"


@pytest.fixture
def with_gp(admitted):
    patient = admitted.patient
    patient.gp_practice_code, patient.gp_practice_name = "B86001", "Demo Medical Practice"
    patient.save()
    return admitted


def test_a_doctor_completes_and_signs_a_discharge_summary_sent_to_the_gp(
    transactional_db, live_server, log_in, axe, with_gp, doctor, outbox
):
    patient = with_gp.patient
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient.pk}/letters/")
    axe(page, context="a patient's letters, none yet")
    page.get_by_test_id("start-discharge-summary").click()
    expect(page.get_by_role("heading", name="Discharge summary")).to_be_visible()
    expect(page.get_by_label("Allergies and adverse reactions (required)")).to_have_value(
        "No allergies recorded: allergy status not known."
    )
    axe(page, context="the discharge summary editor")
    page.get_by_role("button", name="Sign and send").click()
    expect(page.get_by_role("alert")).to_contain_text("Complete “Clinical summary”")
    axe(page, context="the discharge summary editor with an error")
    page.get_by_label("Clinical summary (required)").fill("Community-acquired pneumonia; recovered.")
    page.get_by_label("Plan and requested actions").fill("GP to review in one week.")
    page.get_by_role("button", name="Sign and send").click()
    expect(page.get_by_test_id("signed")).to_contain_text("Signed")
    expect(page.get_by_test_id("deliveries")).to_contain_text("Sent")
    expect(page.get_by_test_id("download-pdf")).to_be_visible()
    axe(page, context="a signed discharge summary")

    document = ClinicalDocument.objects.get(encounter=with_gp)
    assert document.status == DocumentStatus.SIGNED
    (bundle_file,) = (outbox / "gp" / "B86001").glob("*.json")
    bundle = json.loads(bundle_file.read_text())
    assert bundle["type"] == "document"
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "373942005"
    plan = next(s for s in composition["section"] if s["title"] == "Plan and requested actions")
    assert "GP to review in one week." in plan["text"]["div"]
    assert list((outbox / "gp" / "B86001").glob("*.pdf"))


def test_saving_one_section_changes_nothing_else(transactional_db, live_server, log_in, admitted, doctor):
    document = services.discharge_summary_start(encounter=admitted, author=doctor)
    document = services.document_save(
        document=document,
        texts={"clinical-summary": "Written earlier.", "plan": "Clinic in six weeks."},
        version=document.version,
        saved_by=doctor,
    )
    before = ClinicalDocument.objects.values().get(pk=document.pk)
    page = log_in(doctor.username)
    page.goto(f"/patients/{admitted.patient.pk}/letters/{document.pk}/")
    page.get_by_label("Information and advice given").fill("Leaflet on pneumonia given.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()

    after = ClinicalDocument.objects.values().get(pk=document.pk)
    assert after["sections"] == {**before["sections"], "information-given": "Leaflet on pneumonia given."}
    assert after["version"] == before["version"] + 1
    unchanged = {k: v for k, v in before.items() if k not in ("sections", "version")}
    assert {k: after[k] for k in unchanged} == unchanged
