"""Referrals in a real browser: a doctor of the receiving team finds a two-week-wait referral at the
top of the triage queue, accepts it to the outpatient waiting list, and sees the patient on the
waiting list with the 18-week date; and a clerk changes one field of a referral (its priority) and
nothing else moves, the date received above all (an <input type="date"> must hold an ISO date)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scheduling.models import Referral, WaitingListEntry
from scheduling.rules.rtt import STANDARD_DAYS
from scheduling.services.referrals import ReferralDetails, referral_register
from tests.factories import PatientFactory

pytestmark = pytest.mark.browser


def register(clerk, team, patient, *, priority="routine", days=10, reason="Chest pain on exertion."):
    return referral_register(
        registered_by=clerk,
        patient=patient,
        details=ReferralDetails(
            source="gp",
            electronic=True,
            ubrn="123456789012",
            referrer_name="Dr A Patel",
            referrer_organisation="Y01234",
            specialty="300",
            service="Rapid access chest pain clinic",
            priority=priority,
            reason=reason,
            received_on=timezone.localdate() - timedelta(days=days),
        ),
        team=team,
    )


def test_a_doctor_triages_a_referral_to_the_waiting_list(
    transactional_db, live_server, log_in, axe, clerk, doctor, team
):
    register(clerk, team, PatientFactory(family_name="Routine"), days=20)
    urgent = register(
        clerk, team, PatientFactory(family_name="Ellis", given_names="Mary"), priority="2ww", days=3
    )
    page = log_in(doctor.username)
    page.goto("/")
    page.get_by_role("link", name="Referrals to triage").first.click()
    rows = page.get_by_test_id("triage-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("ELLIS")
    expect(rows.first).to_contain_text("Two-week wait")
    axe(page, context="the triage queue")
    rows.first.get_by_role("link").click()
    expect(page.get_by_test_id("reason")).to_contain_text("Chest pain on exertion.")
    axe(page, context="a referral waiting for triage")
    form = page.get_by_test_id("triage-form")
    form.get_by_role("button", name="Save triage").click()  # nothing chosen: a clear error, not a 500
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select the outcome")
    axe(page, context="the triage form with an error")
    form = page.get_by_test_id("triage-form")
    form.get_by_label("Accept: add to a waiting list").check()
    form.get_by_label("Waiting for (if accepted)").select_option(label="First outpatient appointment")
    form.get_by_label("Clinic appointment type (for an outpatient appointment)").select_option(label="New")
    form.get_by_role("button", name="Save triage").click()
    expect(page.get_by_test_id("triage-outcome")).to_contain_text("Accepted to the waiting list")
    breach = urgent.received_on + timedelta(days=STANDARD_DAYS)
    expect(page.get_by_test_id("breach-on")).to_have_text(breach.strftime("%d-%b-%Y"))
    axe(page, context="an accepted referral with its RTT clock")
    page.get_by_role("link", name="Waiting list").first.click()
    row = page.get_by_test_id("waiting-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ELLIS, Mary")
    expect(row).to_contain_text("0 weeks 3 days")
    expect(page.get_by_test_id("band-counts")).to_contain_text("General internal medicine")
    axe(page, context="the waiting list")
    assert WaitingListEntry.objects.get().referral_id == urgent.pk


def test_changing_the_priority_changes_nothing_else(transactional_db, live_server, log_in, axe, clerk, team):
    referral = register(clerk, team, PatientFactory(), days=40)
    skip = {"priority", "version"}

    def stored() -> dict:
        fresh = Referral.objects.get(pk=referral.pk)
        return {
            f.attname: getattr(fresh, f.attname) for f in Referral._meta.concrete_fields if f.name not in skip
        }

    before = stored()
    page = log_in(clerk.username)
    page.goto(f"/patients/{referral.patient_id}/referrals/{referral.pk}/")
    page.get_by_test_id("edit-referral").click()
    expect(page.get_by_label("Date received")).to_have_value(referral.received_on.isoformat())
    axe(page, context="the referral edit form")
    page.get_by_label("Urgent").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Referral details saved.")).to_be_visible()
    expect(page.get_by_test_id("priority")).to_contain_text("Urgent")
    fresh = Referral.objects.get(pk=referral.pk)
    assert (fresh.priority, fresh.version) == ("urgent", 2)
    assert stored() == before
