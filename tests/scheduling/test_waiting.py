"""Waiting lists and the RTT clock through the service and the page: each clock event is checked
against the whole pathway (impossible sequences and pauses refused with a clear message, nothing
saved), breach_on follows every event, a stopped clock takes the entry off the list; the list is
sorted by who breaches first with weeks waited and days to breach, filtered by specialty and kind,
counts per specialty by week band, names hidden from managers, and constant queries."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records.errors import RecordError, StaleEdit
from scheduling.models import ClockEvent, WaitingListEntry, WaitingStatus
from scheduling.rules.rtt import STANDARD_DAYS
from scheduling.selectors import waiting as selectors
from scheduling.services import referrals, waiting
from scheduling.services.referrals import Outcome, ReferralDetails, Triage
from tests.factories import PatientFactory
from tests.support import signed_in

TODAY = timezone.localdate


def on_list(clerk, doctor, team, *, days: int, kind: str = "admission", specialty: str = "300", patient=None):
    referral = referrals.referral_register(
        registered_by=clerk,
        patient=patient or PatientFactory(),
        details=ReferralDetails(
            source="gp",
            electronic=False,
            ubrn="",
            referrer_name="Dr Patel",
            referrer_organisation="",
            specialty=specialty,
            service="Clinic",
            priority="routine",
            reason="Pain",
            received_on=TODAY() - timedelta(days=days),
        ),
        team=team,
    )
    referrals.referral_triage(
        referral=referral,
        triaged_by=doctor,
        version=1,
        triage=Triage(outcome=Outcome.ACCEPT, waiting_kind=kind, clinic_type="new", procedure="Repair"),
    )
    return WaitingListEntry.objects.get(referral=referral)


@pytest.fixture
def entry(clerk, doctor, team):
    return on_list(clerk, doctor, team, days=100)


def record(entry, doctor, kind, days_ago, reason=""):
    entry.refresh_from_db()
    return waiting.clock_event_record(
        entry=entry,
        recorded_by=doctor,
        version=entry.version,
        kind=kind,
        on=TODAY() - timedelta(days=days_ago),
        reason=reason,
    )


def test_breach_on_is_eighteen_weeks_from_receipt(entry):
    assert entry.breach_on == TODAY() - timedelta(days=100) + timedelta(days=STANDARD_DAYS)


def test_first_definitive_treatment_stops_the_clock_and_takes_the_entry_off(entry, doctor):
    record(entry, doctor, "decision-to-admit", 50)
    entry.refresh_from_db()
    assert entry.status == WaitingStatus.WAITING and entry.breach_on is not None
    record(entry, doctor, "stop", 1, "first-definitive-treatment")
    entry.refresh_from_db()
    assert entry.status == WaitingStatus.REMOVED
    assert entry.breach_on is None
    assert entry.removed_reason == "First definitive treatment started"
    assert AuditEvent.objects.filter(action=Action.UPDATE, detail__clock_event="stop").exists()


def test_new_clock_after_active_monitoring_puts_it_back(entry, doctor):
    record(entry, doctor, "stop", 40, "active-monitoring")
    record(entry, doctor, "start", 5, "after-active-monitoring")
    entry.refresh_from_db()
    assert entry.status == WaitingStatus.WAITING
    assert entry.breach_on == TODAY() - timedelta(days=5) + timedelta(days=STANDARD_DAYS)


def test_dna_of_the_first_appointment_nullifies_and_rebooking_restarts(entry, doctor):
    record(entry, doctor, "start", 3, "rebooked-after-dna")
    entry.refresh_from_db()
    assert entry.breach_on == TODAY() - timedelta(days=3) + timedelta(days=STANDARD_DAYS)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([("stop", 10, "not-to-treat"), ("stop", 5, "patient-declined")], "no clock is running"),
        ([("start", 5, "new-treatment")], "still running"),
        ([("start", 5, "after-active-monitoring")], "still running"),
        ([("decision-to-admit", 90), ("stop", 5, "dna-first-appointment")], "decision to admit"),
        ([("stop", 150, "not-to-treat")], "no clock is running"),
    ],
)
def test_impossible_sequences_refused_saving_nothing(entry, doctor, events, message):
    *before, last = events
    for event in before:
        record(entry, doctor, *event)
    count = ClockEvent.objects.count()
    entry.refresh_from_db()
    breach = entry.breach_on
    with pytest.raises(RecordError, match=message):
        record(entry, doctor, *last)
    assert ClockEvent.objects.count() == count
    entry.refresh_from_db()
    assert entry.breach_on == breach


def test_pause_refused_under_the_current_rules(entry, doctor):
    with pytest.raises(RecordError, match="1 October 2015"):
        record(entry, doctor, "pause", 5)


def test_future_date_and_missing_reason_refused(entry, doctor):
    with pytest.raises(RecordError, match="future"):
        record(entry, doctor, "decision-to-admit", -1)
    with pytest.raises(RecordError) as refused:
        record(entry, doctor, "stop", 1, "")
    assert "stop_reason" in refused.value.errors


def test_stale_clock_event_refused(entry, doctor):
    with pytest.raises(StaleEdit):
        waiting.clock_event_record(
            entry=entry, recorded_by=doctor, version=entry.version + 5, kind="decision-to-admit", on=TODAY()
        )


def test_clock_form_error_is_a_clear_400_not_a_500(entry, doctor):
    url = reverse("scheduling:clock_event_new", args=[entry.patient_id, entry.referral_id, entry.pk])
    posted = {
        "kind": "stop",
        "on": (TODAY() - timedelta(days=200)).isoformat(),
        "stop_reason": "not-to-treat",
    }
    response = signed_in(doctor).post(url, {**posted, "version": entry.version})
    assert response.status_code == 400
    assert b"no clock is running" in response.content
    good = signed_in(doctor).post(url, {**posted, "on": TODAY().isoformat(), "version": entry.version})
    assert good.status_code == 302


def test_clerk_may_not_record_clock_events(entry, clerk):
    url = reverse("scheduling:clock_event_new", args=[entry.patient_id, entry.referral_id, entry.pk])
    response = signed_in(clerk).post(
        url, {"kind": "decision-to-admit", "on": TODAY().isoformat(), "version": 1}
    )
    assert response.status_code == 403


def test_list_sorted_by_breach_with_waits_and_counts(clerk, doctor, team):
    breached = on_list(clerk, doctor, team, days=130)
    near = on_list(clerk, doctor, team, days=120, kind="outpatient")
    recent = on_list(clerk, doctor, team, days=20, specialty="100")
    page = signed_in(clerk).get(reverse("scheduling:waiting_list"))
    rows = page.context["rows"]
    assert [r.entry.pk for r in rows] == [breached.pk, near.pk, recent.pk]
    assert (rows[0].weeks, rows[0].breached, rows[0].days_over) == (18, True, 4)
    assert (rows[1].weeks, rows[1].extra_days, rows[1].days_to_breach, rows[1].near_breach) == (
        17,
        1,
        6,
        True,
    )
    assert b"epr-row--overdue" in page.content
    counts = {c.specialty: c for c in page.context["counts"]}
    assert counts["300"].groups == {"0-6": 0, "6-12": 0, "12-18": 1, "18-52": 1, "52+": 0}
    assert counts["300"].bands == {"17-18": 1, "18-19": 1}
    assert counts["300"].breached == 1
    assert counts["100"].groups["0-6"] == 1
    assert (
        AuditEvent.objects.filter(action=Action.LIST, user_id=clerk.pk, patient_id__isnull=False).count() == 3
    )
    filtered = signed_in(clerk).get(
        reverse("scheduling:waiting_list"), {"specialty": "300", "kind": "outpatient"}
    )
    assert [r.entry.pk for r in filtered.context["rows"]] == [near.pk]


def test_manager_sees_waits_without_names(clerk, doctor, team, manager):
    entry = on_list(clerk, doctor, team, days=30, patient=PatientFactory(family_name="Zanzibar"))
    page = signed_in(manager).get(reverse("scheduling:waiting_list"))
    assert page.status_code == 200
    assert page.context["anonymous"]
    assert b"ZANZIBAR" not in page.content
    assert entry.patient.hospital_number.encode() not in page.content
    assert not AuditEvent.objects.filter(
        action=Action.LIST, user_id=manager.pk, patient_id=entry.patient_id
    ).exists()


def test_week_bands_group_the_full_bands():
    bands = dict.fromkeys(selectors.WEEK_BANDS, 1)
    grouped = {
        selectors.group_label(lo, hi): selectors._in_group(bands, lo, hi) for lo, hi in selectors.BAND_GROUPS
    }
    assert grouped == {"0-6": 6, "6-12": 6, "12-18": 6, "18-52": 34, "52+": 1}
    assert sum(grouped.values()) == len(selectors.WEEK_BANDS)


@pytest.mark.parametrize("who", ["clerk", "doctor"])
def test_waiting_list_queries_constant(clerk, doctor, team, who):
    user = {"clerk": clerk, "doctor": doctor}[who]

    def queries() -> int:
        client = signed_in(user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("scheduling:waiting_list")).status_code == 200
        return len(captured)

    on_list(clerk, doctor, team, days=10)
    few = queries()
    for days in range(20, 120, 10):
        on_list(clerk, doctor, team, days=days, specialty="100" if days % 20 else "300")
    assert queries() == few


def test_triage_queue_queries_constant(clerk, doctor, team):
    def queries() -> int:
        client = signed_in(doctor)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("scheduling:triage_queue")).status_code == 200
        return len(captured)

    def add():
        referrals.referral_register(
            registered_by=clerk,
            patient=PatientFactory(),
            details=ReferralDetails("gp", False, "", "Dr P", "", "300", "Clinic", "urgent", "Pain", TODAY()),
            team=team,
        )

    add()
    few = queries()
    for _ in range(8):
        add()
    assert queries() == few


def test_two_clock_stops_at_once_record_one(clerk, doctor, team, transactional_db):
    entry = on_list(clerk, doctor, team, days=60)
    outcomes: list[str] = []

    def click() -> None:
        try:
            waiting.clock_event_record(
                entry=entry,
                recorded_by=doctor,
                version=entry.version,
                kind="stop",
                on=TODAY(),
                reason="first-definitive-treatment",
            )
            outcomes.append("recorded")
        except RecordError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["recorded", "refused"]
    assert ClockEvent.objects.filter(entry=entry, kind="stop").count() == 1
