"""Referrals through the services and the pages: registering one (refused clearly when wrong) gives
the receiving team a care relationship that triage's redirect or rejection, or closing, ends;
triage accepts once to a waiting list with its RTT clock started on the day received; attachments
within their size and type limits, downloaded through the access door and audited as an export;
the triage queue's order; an outsider refused; corrections from a stale page refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from epr.audit.models import Action, AuditEvent
from records.access import has_care_relationship
from records.errors import RecordError, StaleEdit
from records.models import CareRelationship
from records.services.access import withdraw_ended_care_relationships
from scheduling.models import ClockEvent, Referral, ReferralStatus, WaitingListEntry
from scheduling.rules.rtt import STANDARD_DAYS
from scheduling.services import referrals as services
from scheduling.services.referrals import Outcome, ReferralDetails, Triage
from tests.factories import PatientFactory
from tests.support import signed_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def details(**changes) -> ReferralDetails:
    values = {
        "source": "gp",
        "electronic": True,
        "ubrn": "123456789012",
        "referrer_name": "Dr A Patel",
        "referrer_organisation": "y01234",
        "specialty": "300",
        "service": "General medicine clinic",
        "priority": "routine",
        "reason": "Recurrent falls.",
        "received_on": timezone.localdate() - timedelta(days=10),
    }
    return ReferralDetails(**{**values, **changes})


@pytest.fixture
def referral(clerk, patient, team):
    return services.referral_register(registered_by=clerk, patient=patient, details=details(), team=team)


def accept(referral, doctor, kind="outpatient"):
    return services.referral_triage(
        referral=referral,
        triaged_by=doctor,
        version=referral.version,
        triage=Triage(
            outcome=Outcome.ACCEPT, waiting_kind=kind, clinic_type="new", procedure="Hernia repair"
        ),
    )


# --- services ---


def test_register_gives_the_team_a_care_relationship(referral, doctor, patient):
    assert referral.status == ReferralStatus.RECEIVED
    assert referral.referrer_organisation == "Y01234"
    assert (
        CareRelationship.objects.filter(patient=patient, kind="referral", ends_at__isnull=True).count() == 1
    )
    assert has_care_relationship(doctor, patient)
    assert AuditEvent.objects.filter(action=Action.CREATE, object_type="scheduling.Referral").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ubrn": "12345"}, "ubrn"),
        ({"electronic": False}, "ubrn"),
        ({"priority": "soon"}, "priority"),
        ({"reason": "  "}, "reason"),
        ({"received_on": timezone.localdate() + timedelta(days=1)}, "received_on"),
    ],
)
def test_register_refuses_bad_details_saving_nothing(clerk, patient, team, change, field):
    with pytest.raises(RecordError) as refused:
        services.referral_register(registered_by=clerk, patient=patient, details=details(**change), team=team)
    assert field in refused.value.errors
    assert not Referral.objects.exists()
    assert not CareRelationship.objects.filter(kind="referral").exists()


def test_incoming_referral_needs_a_team(clerk, patient):
    with pytest.raises(RecordError) as refused:
        services.referral_register(registered_by=clerk, patient=patient, details=details())
    assert "team" in refused.value.errors


def test_outgoing_referral_needs_no_team(doctor, patient):
    out = services.referral_register(
        registered_by=doctor, patient=patient, details=details(service="Tertiary neurology"), direction="out"
    )
    assert out.direction == "out"
    assert not CareRelationship.objects.filter(kind="referral").exists()


def test_accept_puts_the_patient_on_a_waiting_list_with_the_clock_from_receipt(referral, doctor):
    accepted = accept(referral, doctor)
    assert accepted.status == ReferralStatus.ACCEPTED
    assert "new clinic appointment" in accepted.triage_outcome
    entry = WaitingListEntry.objects.get(referral=referral)
    assert entry.breach_on == referral.received_on + timedelta(days=STANDARD_DAYS)
    start = ClockEvent.objects.get(entry=entry)
    assert (start.kind, start.on, start.reason) == ("start", referral.received_on, "referral")
    # accepted stays open: the team keeps its access
    assert CareRelationship.objects.filter(kind="referral", ends_at__isnull=True).count() == 1


def test_triage_happens_once(referral, doctor):
    accept(referral, doctor)
    referral.refresh_from_db()
    with pytest.raises(RecordError, match="already triaged"):
        accept(referral, doctor)
    assert WaitingListEntry.objects.count() == 1


def test_triage_from_a_stale_page_is_refused(referral, clerk, doctor):
    services.referral_update(
        referral=referral, changed_by=clerk, version=1, details=details(priority="urgent")
    )
    with pytest.raises(StaleEdit):
        services.referral_triage(
            referral=referral,
            triaged_by=doctor,
            version=1,
            triage=Triage(outcome=Outcome.REJECT, reason="No"),
        )


@pytest.mark.parametrize(
    ("triage", "field"),
    [
        (Triage(outcome=Outcome.ACCEPT), "waiting_kind"),
        (Triage(outcome=Outcome.ACCEPT, waiting_kind="outpatient"), "clinic_type"),
        (Triage(outcome=Outcome.ACCEPT, waiting_kind="admission"), "procedure"),
        (Triage(outcome=Outcome.REDIRECT, reason="Wrong clinic"), "redirect_to"),
        (Triage(outcome=Outcome.REJECT), "reason"),
        (Triage(outcome="maybe"), "outcome"),
    ],
)
def test_triage_refuses_what_is_missing(referral, doctor, triage, field):
    with pytest.raises(RecordError) as refused:
        services.referral_triage(
            referral=referral, triaged_by=doctor, version=referral.version, triage=triage
        )
    assert field in refused.value.errors
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED


@pytest.mark.parametrize("outcome", [Outcome.REDIRECT, Outcome.REJECT])
def test_redirect_or_reject_ends_the_care_relationship(referral, doctor, patient, outcome):
    done = services.referral_triage(
        referral=referral,
        triaged_by=doctor,
        version=referral.version,
        triage=Triage(outcome=outcome, redirect_to="Falls clinic", reason="Seen best by the falls team."),
    )
    assert done.triage_reason == "Seen best by the falls team."
    assert done.status == (
        ReferralStatus.REDIRECTED if outcome == Outcome.REDIRECT else ReferralStatus.REJECTED
    )
    relationship = CareRelationship.objects.get(kind="referral")
    assert relationship.ends_at is not None
    withdraw_ended_care_relationships(now=timezone.now() + timedelta(days=30))
    assert not has_care_relationship(doctor, patient)


def test_close_ends_only_its_own_relationship(referral, clerk, doctor, patient, team):
    second = services.referral_register(registered_by=clerk, patient=patient, details=details(), team=team)
    services.referral_close(
        referral=referral, closed_by=clerk, version=referral.version, reason="Pathway ended"
    )
    withdraw_ended_care_relationships(now=timezone.now() + timedelta(days=30))
    assert has_care_relationship(doctor, patient)  # the second referral is still open
    services.referral_close(referral=second, closed_by=clerk, version=second.version, reason="Pathway ended")
    withdraw_ended_care_relationships(now=timezone.now() + timedelta(days=30))
    assert not has_care_relationship(doctor, patient)
    with pytest.raises(RecordError, match="already closed"):
        services.referral_close(referral=second, closed_by=clerk, version=second.version + 1, reason="Again")


def test_update_changes_only_what_changed(referral, clerk):
    before = Referral.objects.get(pk=referral.pk)
    updated = services.referral_update(
        referral=referral, changed_by=clerk, version=1, details=details(reason="Falls and dizziness.")
    )
    assert updated.version == 2
    for name in ("received_on", "registered_at", "priority", "ubrn", "service", "specialty", "team_id"):
        assert getattr(updated, name) == getattr(before, name)
    assert AuditEvent.objects.filter(action=Action.UPDATE, detail__changed=["reason"]).exists()
    with pytest.raises(StaleEdit):
        services.referral_update(referral=referral, changed_by=clerk, version=1, details=details(reason="x"))


def test_received_date_fixed_once_the_clock_started(referral, clerk, doctor):
    accept(referral, doctor)
    with pytest.raises(RecordError) as refused:
        services.referral_update(
            referral=referral,
            changed_by=clerk,
            version=2,
            details=details(received_on=referral.received_on - timedelta(days=1)),
        )
    assert "received_on" in refused.value.errors


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("letter.pdf", b"", "empty"),
        ("letter.exe", b"MZ\x90\x00", "Attach a PDF"),
        ("letter.pdf", b"MZ\x90\x00 not a pdf", "is not one"),
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * (services.MAX_ATTACHMENT_BYTES + 1), "up to 10 MB"),
    ],
)
def test_attachments_refused_outside_the_limits(referral, clerk, name, content, message):
    with pytest.raises(RecordError, match=message):
        services.attachment_add(referral=referral, added_by=clerk, name=name, content=content)
    assert not referral.attachments.exists()


def test_attachment_kept_in_the_database(referral, clerk):
    attachment = services.attachment_add(
        referral=referral, added_by=clerk, name="C:\\scans\\letter.PDF", content=PDF
    )
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "letter.PDF",
        "application/pdf",
        len(PDF),
    )
    assert bytes(attachment.content) == PDF


# --- pages ---


def detail_url(referral):
    return reverse("scheduling:referral_detail", args=[referral.patient_id, referral.pk])


def test_outsider_is_refused_and_audited(referral, outsider):
    response = signed_in(outsider).get(detail_url(referral))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action=Action.DENIED, user_id=outsider.pk).exists()


def test_team_doctor_sees_the_referral_and_the_view_is_audited(referral, doctor):
    response = signed_in(doctor).get(detail_url(referral))
    assert response.status_code == 200
    assert b"Recurrent falls." in response.content
    assert b'data-testid="triage-form"' in response.content
    assert AuditEvent.objects.filter(
        action=Action.VIEW, user_id=doctor.pk, patient_id=referral.patient_id
    ).exists()


def test_clerk_sees_it_but_cannot_triage(referral, clerk):
    client = signed_in(clerk)
    page = client.get(detail_url(referral))
    assert page.status_code == 200
    assert b'data-testid="triage-form"' not in page.content
    url = reverse("scheduling:referral_triage", args=[referral.patient_id, referral.pk])
    assert client.post(url, {"outcome": "reject", "reason": "No", "version": 1}).status_code == 403


def test_triage_page_form_errors_are_clear_not_500(referral, doctor):
    url = reverse("scheduling:referral_triage", args=[referral.patient_id, referral.pk])
    response = signed_in(doctor).post(url, {"outcome": "reject", "reason": "", "version": referral.version})
    assert response.status_code == 400
    assert b"Enter why the referral is rejected" in response.content


def test_register_page(patient, team, clerk):
    client = signed_in(clerk)
    url = reverse("scheduling:referral_new", args=[patient.pk])
    assert client.get(url).status_code == 200
    posted = {
        "source": "gp",
        "electronic": "on",
        "ubrn": "1234 5678 9012",
        "referrer_name": "Dr Patel",
        "specialty": "300",
        "team": str(team.pk),
        "service": "Falls clinic",
        "priority": "2ww",
        "reason": "Falls",
        "received_on": timezone.localdate().isoformat(),
    }
    response = client.post(url, posted)
    assert response.status_code == 302, response.content
    assert Referral.objects.get().ubrn == "123456789012"
    bad = client.post(url, {**posted, "ubrn": "12"})
    assert bad.status_code == 400
    assert b"12 digits" in bad.content


def test_attachment_upload_and_download_audited_as_export(referral, clerk, doctor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(clerk)
    add = reverse("scheduling:referral_attachment_add", args=[referral.patient_id, referral.pk])
    refused = client.post(add, {"file": SimpleUploadedFile("virus.exe", b"MZ", "application/octet-stream")})
    assert refused.status_code == 400
    assert b"Attach a PDF" in refused.content
    assert (
        client.post(add, {"file": SimpleUploadedFile("letter.pdf", PDF, "application/pdf")}).status_code
        == 302
    )
    attachment = referral.attachments.get()
    url = reverse("scheduling:referral_attachment", args=[referral.patient_id, referral.pk, attachment.pk])
    response = signed_in(doctor).get(url)
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(
        action=Action.EXPORT, user_id=doctor.pk, object_type="scheduling.ReferralAttachment"
    ).exists()


def test_attachment_of_another_patient_refused(referral, clerk, team):
    other = services.referral_register(
        registered_by=clerk, patient=PatientFactory(), details=details(), team=team
    )
    attachment = services.attachment_add(referral=other, added_by=clerk, name="a.pdf", content=PDF)
    url = reverse("scheduling:referral_attachment", args=[referral.patient_id, referral.pk, attachment.pk])
    assert signed_in(clerk).get(url).status_code == 403


def test_triage_queue_order_and_care_filter(clerk, doctor, team, outsider):
    today = timezone.localdate()
    made = {}
    for name, priority, days in (
        ("old", "routine", 30),
        ("new", "routine", 1),
        ("2ww", "2ww", 0),
        ("urgent", "urgent", 5),
    ):
        made[name] = services.referral_register(
            registered_by=clerk,
            patient=PatientFactory(family_name=name.upper()),
            details=details(priority=priority, received_on=today - timedelta(days=days)),
            team=team,
        )
    page = signed_in(clerk).get(reverse("scheduling:triage_queue"))
    rows = [r.pk for r in page.context["rows"]]
    assert rows == [made[n].pk for n in ("2ww", "urgent", "old", "new")]
    assert AuditEvent.objects.filter(action=Action.LIST, user_id=clerk.pk).count() == 4
    # the team's doctor sees them; a doctor of no team sees none of them
    assert len(signed_in(doctor).get(reverse("scheduling:triage_queue")).context["rows"]) == 4
    hidden = signed_in(outsider).get(reverse("scheduling:triage_queue"))
    assert hidden.context["rows"] == []
    assert hidden.context["hidden"] == 4


def test_patient_section_lists_referrals(referral, clerk):
    response = signed_in(clerk).get(reverse("scheduling:patient_referrals", args=[referral.patient_id]))
    assert response.status_code == 200
    assert b"General medicine clinic" in response.content


def test_two_triages_at_once_accept_once(clerk, doctor, patient, team, transactional_db):
    referral = services.referral_register(registered_by=clerk, patient=patient, details=details(), team=team)
    outcomes: list[str] = []

    def click() -> None:
        try:
            accept(referral, doctor)
            outcomes.append("accepted")
        except RecordError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted", "refused"]
    assert WaitingListEntry.objects.count() == 1
    assert ClockEvent.objects.count() == 1


def test_demo_loader_is_idempotent(db):
    from scheduling.demo.referrals import load_referrals_demo

    assert "no demo staff" in load_referrals_demo(print)
    assert not Referral.objects.exists()
