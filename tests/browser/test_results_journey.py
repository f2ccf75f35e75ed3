"""A critical result in a real browser: the laboratory posts an ORU with a potassium of 6.9 to
/hl7/v2, the doctor sees the urgent alert, opens the results from it, acknowledges with the action
taken, and the acknowledgement shows in the cumulative table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import ResultReport
from orders.samples import oru_for
from tests.support import token_client

pytestmark = pytest.mark.browser


def test_a_critical_potassium_is_alerted_and_acknowledged(
    transactional_db, live_server, log_in, axe, admitted, doctor, client
):

    patient = admitted.patient
    sender = token_client(client, "Pathology", ["system/*.write"])

    answer = sender.post(
        "/hl7/v2",
        oru_for(patient, values={"2823-3": Decimal("6.9")}),
        content_type="x-application/hl7-v2+er7",
    )
    assert b"MSA|AA" in answer.content
    page = log_in(doctor.username)
    page.goto("/alerts/")
    row = page.get_by_test_id("alert-row").filter(has_text="Critical result")
    expect(row).to_contain_text("Potassium 6.9 mmol/L is above 6.5")
    axe(page, context="alerts with a critical result")
    row.get_by_role("link", name=patient.display_name, exact=True).click()
    report = page.get_by_test_id("waiting-report")
    expect(report).to_contain_text("Critical")
    axe(page, context="results waiting for acknowledgement")
    report.get_by_label("Treatment changed").check()
    report.get_by_label("Note (optional)").fill("Calcium gluconate given; repeat in 4 hours")
    report.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Urea and electrolytes acknowledged.")).to_be_visible()
    expect(page.get_by_test_id("acknowledged")).to_contain_text("Treatment changed")
    axe(page, context="cumulative results")
    assert ResultReport.objects.get().acknowledged_by == doctor
