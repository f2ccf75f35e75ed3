"""Orders and results in a real browser: a doctor orders admission bloods from the order set; the
laboratory posts an ORU answering the U&E order with a potassium of 6.9 to /hl7/v2; the doctor sees
the urgent alert, opens the results from it, acknowledges with the action taken, and the
acknowledgement shows on the order and in the cumulative table. Cancelling an order changes its
status and reason and nothing else."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order, OrderStatus, ResultReport
from orders.samples import oru_for
from orders.services.catalogue import catalogue_load
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


def test_a_doctor_orders_admission_bloods_and_acknowledges_the_critical_potassium(
    transactional_db, live_server, log_in, axe, admitted, doctor, client
):
    catalogue_load()
    patient = admitted.patient
    page = log_in(doctor.username)
    page.goto(f"/patients/{patient.pk}/orders/")
    axe(page, context="a patient's orders, none yet")
    page.get_by_test_id("order-sets").get_by_role("link", name="Admission bloods", exact=True).click()
    expect(page.get_by_test_id("chosen-tests")).to_contain_text("Urea and electrolytes")
    page.get_by_label("Urgent").check()
    page.get_by_label("Clinical details").fill("Confused, vomiting: AKI?")
    axe(page, context="the order form for an order set")
    page.get_by_test_id("place-order").click()
    expect(page.get_by_text("Ordered: Full blood count")).to_be_visible()
    expect(page.get_by_test_id("order-row")).to_have_count(7)
    axe(page, context="a patient's outstanding orders")
    order = Order.objects.get(patient=patient, test__code="UE")
    assert order.priority == "urgent" and order.clinical_details == "Confused, vomiting: AKI?"

    sender = token_client(client, "Pathology", ["system/*.write"])
    answer = sender.post(
        "/hl7/v2",
        oru_for(patient, values={"2823-3": Decimal("6.9")}, placer=order.number),
        content_type="x-application/hl7-v2+er7",
    )
    assert b"MSA|AA" in answer.content
    page.goto("/alerts/")
    row = page.get_by_test_id("alert-row").filter(has_text="Critical result")
    expect(row).to_contain_text("Potassium 6.9 mmol/L is above 6.5")
    row.get_by_role("link", name=patient.display_name, exact=True).click()
    report = page.get_by_test_id("waiting-report")
    report.get_by_label("Treatment changed").check()
    report.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("acknowledged")).to_contain_text("Treatment changed")
    page.goto(f"/patients/{patient.pk}/orders/{order.pk}/")
    expect(page.get_by_test_id("order-status")).to_contain_text("Final result")
    expect(page.get_by_test_id("order-acknowledged")).to_contain_text("Treatment changed")
    axe(page, context="an order with its acknowledged result")


def test_cancelling_an_order_changes_its_status_and_nothing_else(
    transactional_db, live_server, log_in, axe, admitted, doctor
):
    from orders.models import OrderableTest
    from orders.services.requests import orders_place

    catalogue_load()
    (order,) = orders_place(
        requested_by=doctor,
        patient=admitted.patient,
        tests=[OrderableTest.objects.get(code="BC")],
        priority="urgent",
        clinical_details="Rigors",
        answers={"BC": {"antibiotics": "No", "sets": "2", "source": "Line"}},
    )
    before = Order.objects.filter(pk=order.pk).values().get()
    page = log_in(doctor.username)
    page.goto(f"/patients/{admitted.patient.pk}/orders/{order.pk}/")
    page.get_by_text("Cancel this order").click()
    page.get_by_label("Why is it cancelled?").fill("Taken by the outreach team already")
    axe(page, context="an order with its cancel form open")
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("cancelled")).to_contain_text("Taken by the outreach team already")
    after = Order.objects.filter(pk=order.pk).values().get()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {
        "status",
        "cancel_reason",
        "cancelled_by_id",
        "cancelled_at",
        "status_changed_at",
        "version",
    }
    assert after["status"] == OrderStatus.CANCELLED and after["answers"] == before["answers"]
