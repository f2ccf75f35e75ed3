"""Subject access: the one-month deadline, the export end to end (redactions left out and listed, a
real PDF marked on every page), who may do it, progress, failure, and the deadline list."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from epr.audit.models import Action, AuditEvent
from records import services
from records.errors import RecordError, StaleEdit
from records.models import SubjectAccessRequest, SubjectAccessStatus
from records.registries.subject_access import SectionEntry, register_section, unregister_section
from records.rules import subject_access as sar_rules
from records.selectors.subject_access import collect_export
from tests.factories import PatientFactory
from tests.records.support import plan
from tests.support import login

MARKING = "NHS Confidential Personal Data about a patient"

# -- the deadline rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2025, 1, 15), date(2025, 2, 15)),
        (date(2025, 1, 31), date(2025, 2, 28)),  # no 31 February: the month's last day
        (date(2024, 1, 31), date(2024, 2, 29)),  # leap year
        (date(2024, 1, 29), date(2024, 2, 29)),
        (date(2025, 1, 29), date(2025, 2, 28)),
        (date(2024, 2, 29), date(2024, 3, 29)),
        (date(2025, 3, 31), date(2025, 4, 30)),
        (date(2025, 8, 31), date(2025, 9, 30)),
        (date(2025, 12, 15), date(2026, 1, 15)),  # across the year end
        (date(2025, 12, 31), date(2026, 1, 31)),
    ],
)
def test_deadline_is_the_corresponding_day_next_month_clamped_to_its_end(received, due):
    assert sar_rules.response_deadline(received) == due


def test_days_left_and_overdue():
    deadline = date(2025, 2, 28)
    assert sar_rules.days_left(deadline, date(2025, 2, 20)) == 8
    assert sar_rules.days_left(deadline, deadline) == 0
    assert not sar_rules.is_overdue(deadline, deadline)
    assert sar_rules.is_overdue(deadline, date(2025, 3, 1))


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def record(admitted, nurse, doctor):
    """A record with something in every section: allergies (one entered in error), a problem,
    observations and a SpO2 scale decision."""
    patient = admitted.patient
    patient.next_of_kin_name = "Mary Smith"
    patient.save()
    penicillin = services.allergy_record(recorded_by=nurse, patient=patient, substance_code="764146007")
    latex = services.allergy_record(
        recorded_by=nurse,
        patient=patient,
        substance_text="Latex from the neighbour's report",
        reaction="Hives",
    )
    wrong = services.allergy_record(recorded_by=nurse, patient=patient, substance_text="Strawberries")
    services.entry_mark_error(marked_by=nurse, entry=wrong, reason="Wrong patient")
    problem = services.problem_record(recorded_by=doctor, patient=patient, snomed_code="44054006")
    obs = services.observation_set_record(
        recorded_by=nurse,
        patient=patient,
        respiration_rate=16,
        spo2=97,
        on_oxygen=False,
        systolic_bp=125,
        diastolic_bp=80,
        pulse=72,
        consciousness="A",
        temperature=Decimal("36.8"),
    )
    return {
        "patient": patient,
        "penicillin": penicillin,
        "latex": latex,
        "wrong": wrong,
        "problem": problem,
        "obs": obs,
    }


def _create(client, patient, received_on=None, **data):
    received = received_on or timezone.localdate() - timedelta(days=3)
    return client.post(
        reverse("records:sar_create", args=[patient.pk]),
        {
            # The NHS date input's three boxes.
            "received_on_day": received.day,
            "received_on_month": received.month,
            "received_on_year": received.year,
            "requester_kind": "patient",
            **data,
        },
    )


def _ready_request(patient, admin_user, capture) -> SubjectAccessRequest:
    sar = services.subject_access_create(
        logged_by=admin_user, patient=patient, received_on=timezone.localdate(), requester_kind="patient"
    )
    with capture(execute=True):
        services.subject_access_queue_generation(requested_by=admin_user, sar=sar)
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.READY, sar.error_message
    return sar


def _download(client, sar, fmt):
    response = client.get(reverse("records:sar_download", args=[sar.patient_id, sar.pk, fmt]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# -- the export through the pages -------------------------------------------------------------


def test_export_end_to_end(
    client, record, admin_user, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    patient, latex = record["patient"], record["latex"]
    login(client, admin_user)
    assert (
        b"Subject access requests" in client.get(reverse("records:patient_detail", args=[patient.pk])).content
    )

    response = _create(client, patient)
    sar = SubjectAccessRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("records:sar_redactions", args=[patient.pk, sar.pk])
    assert sar.deadline == sar_rules.response_deadline(timezone.localdate() - timedelta(days=3))

    with django_assert_max_num_queries(40):  # one or two per section, however many entries
        page = client.get(response.url)
    assert b"Latex from the neighbour" in page.content and b"Who accessed this record" in page.content

    # A redaction without a reason is refused with a form error; nothing is saved or queued.
    tick = {"redact": [f"allergies:{latex.pk}"], "version": sar.version, "action": "generate"}
    refused = client.post(response.url, tick)
    assert refused.status_code == 400
    assert b"Give the reason this entry is withheld" in refused.content
    sar.refresh_from_db()
    assert sar.redactions == [] and sar.status == SubjectAccessStatus.RECEIVED

    reason = "Third-party information (Data Protection Act 2018, Schedule 2, paragraph 16)"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(response.url, {**tick, f"reason:allergies:{latex.pk}": reason})
    assert done.status_code == 302
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.READY, sar.error_message
    assert sar.progress == 100 and sar.generated_at is not None
    assert sar.redactions == [{"section": "allergies", "entry_id": str(latex.pk), "reason": reason}]
    generation = AuditEvent.objects.filter(action=Action.EXPORT, object_id=str(sar.pk))
    assert [(e.channel, e.username, e.patient_id) for e in generation] == [("export", "ada", patient.pk)]

    listing = client.get(reverse("records:sar_patient_list", args=[patient.pk]))
    assert reverse("records:sar_detail", args=[patient.pk, sar.pk]).encode() in listing.content
    detail = client.get(reverse("records:sar_detail", args=[patient.pk, sar.pk]))
    assert b"Download PDF" in detail.content and b"Download JSON" in detail.content

    # JSON: everything but the redacted entry, which is listed without its content.
    raw = _download(client, sar, "json")
    assert b"Latex" not in raw and b"Hives" not in raw
    export = json.loads(raw)
    assert export["request"]["id"] == sar.pk
    assert export["patient"]["nhs_number"] == patient.nhs_number
    assert export["generated_at"]
    sections = {s["key"]: s for s in export["sections"]}
    assert list(sections) == [
        "demographics",
        "admissions",
        "allergies",
        "problems",
        "observations",
        "spo2-scale",
        "escalation-plans",
        "alerts",
        "medicines",  # from prescribing, through the section registry
        "administrations",
        "care-plans",
        "results",  # from orders
        "orders",
        "referrals",  # from scheduling
        "waiting-lists",
        "appointments",
        "theatre-cases",
        "bed-requests",
        "documents",
        "notes",
        "access-log",
    ]
    allergies = {e["id"]: e for e in sections["allergies"]["entries"]}
    assert set(allergies) == {str(record["penicillin"].pk), str(record["wrong"].pk)}
    assert allergies[str(record["wrong"].pk)]["entered_in_error"] is True
    assert allergies[str(record["wrong"].pk)]["details"]["Entered in error because"] == "Wrong patient"
    assert [e["id"] for e in sections["problems"]["entries"]] == [str(record["problem"].pk)]
    assert [e["id"] for e in sections["observations"]["entries"]] == [str(record["obs"].pk)]
    assert len(sections["admissions"]["entries"]) == 1
    assert sections["admissions"]["entries"][0]["rows"][0]["Ward"] == "Ward 7"
    assert {e["id"] for e in sections["demographics"]["entries"]} >= {"identity", "contact", "next-of-kin"}
    assert any(e["details"]["Who"].endswith("(alice)") for e in sections["access-log"]["entries"])
    assert export["redactions"] == [
        {
            "section": "allergies",
            "section_title": "Allergies and intolerances",
            "entry_id": str(latex.pk),
            "reason": reason,
        }
    ]

    # PDF: real, marked on every page, numbered "Page N of M", without the redacted entry.
    pdf = PdfReader(io.BytesIO(_download(client, sar, "pdf")))
    total = len(pdf.pages)
    texts = [page.extract_text() for page in pdf.pages]
    for number, text in enumerate(texts, start=1):
        assert MARKING in text
        assert f"Page {number} of {total}" in text
    whole = "\n".join(texts)
    assert "Latex" not in whole and "Hives" not in whole
    assert "Penicillin" in whole and "Diabetes mellitus type 2" in whole
    assert "Entered in error" in whole and "Strawberries" in whole
    assert "Redactions" in whole and "Third-party information" in whole

    downloads = AuditEvent.objects.filter(
        action=Action.EXPORT, object_id=str(sar.pk), detail__has_key="download"
    )
    assert sorted((e.channel, e.detail["download"]) for e in downloads) == [
        ("export", "json"),
        ("export", "pdf"),
    ]


def test_generation_is_idempotent_and_regenerates_the_same_files(
    record, admin_user, media, django_capture_on_commit_callbacks
):
    sar = _ready_request(record["patient"], admin_user, django_capture_on_commit_callbacks)
    names = (sar.pdf_file.name, sar.json_file.name)
    exports = AuditEvent.objects.filter(action=Action.EXPORT).count()

    assert services.subject_access_generate(sar_id=sar.pk) is None  # a repeated delivery does nothing
    assert AuditEvent.objects.filter(action=Action.EXPORT).count() == exports

    with django_capture_on_commit_callbacks(execute=True):
        services.subject_access_queue_generation(requested_by=admin_user, sar=sar)
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.READY
    assert (sar.pdf_file.name, sar.json_file.name) == names
    assert sorted(p.name for p in (media / "subject-access" / str(sar.pk)).iterdir()) == [
        f"subject-access-{sar.pk}.json",
        f"subject-access-{sar.pk}.pdf",
    ]


def test_a_representative_must_be_described_and_the_date_cannot_be_in_the_future(client, patient, admin_user):
    login(client, admin_user)
    response = _create(client, patient, requester_kind="representative")
    assert response.status_code == 200 and b"Say who is asking" in response.content
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = _create(client, patient, received_on=tomorrow)
    assert response.status_code == 200 and b"cannot be in the future" in response.content
    assert not SubjectAccessRequest.objects.exists()


def test_redactions_need_reasons_and_the_current_version(record, admin_user):
    sar = services.subject_access_create(
        logged_by=admin_user,
        patient=record["patient"],
        received_on=timezone.localdate(),
        requester_kind="patient",
    )
    chosen = [{"section": "allergies", "entry_id": str(record["latex"].pk), "reason": " "}]
    with pytest.raises(RecordError, match="reason"):
        services.subject_access_set_redactions(
            changed_by=admin_user, sar=sar, redactions=chosen, expected_version=sar.version
        )
    chosen[0]["reason"] = "Serious harm"
    with pytest.raises(StaleEdit):
        services.subject_access_set_redactions(
            changed_by=admin_user, sar=sar, redactions=chosen, expected_version=sar.version + 1
        )
    saved = services.subject_access_set_redactions(
        changed_by=admin_user, sar=sar, redactions=chosen, expected_version=sar.version
    )
    assert saved.status == SubjectAccessStatus.IN_PROGRESS and saved.version == 2


# -- who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["nurse", "clerk", "manager", "doctor"])
def test_only_information_governance_may_log_a_request(client, admitted, nurse, clerk, manager, doctor, who):
    user = {"nurse": nurse, "clerk": clerk, "manager": manager, "doctor": doctor}[who]
    login(client, user)
    assert _create(client, admitted.patient).status_code == 403
    assert client.get(reverse("records:sar_patient_list", args=[admitted.patient_id])).status_code == 403
    assert not SubjectAccessRequest.objects.exists()


@pytest.mark.parametrize("who", ["nurse", "clerk", "manager"])
def test_only_information_governance_may_download_or_generate(
    client, record, admin_user, nurse, clerk, manager, django_capture_on_commit_callbacks, who
):
    sar = _ready_request(record["patient"], admin_user, django_capture_on_commit_callbacks)
    exports = AuditEvent.objects.filter(action=Action.EXPORT).count()
    login(client, {"nurse": nurse, "clerk": clerk, "manager": manager}[who])
    for fmt in ("pdf", "json"):
        assert (
            client.get(reverse("records:sar_download", args=[sar.patient_id, sar.pk, fmt])).status_code == 403
        )
    assert client.get(reverse("records:sar_progress", args=[sar.patient_id, sar.pk])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("records:sar_generate", args=[sar.patient_id, sar.pk])).status_code == 403
    assert AuditEvent.objects.filter(action=Action.EXPORT).count() == exports
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.READY


def test_a_request_is_reached_only_through_its_own_patient(
    client, record, admin_user, django_capture_on_commit_callbacks
):

    sar = _ready_request(record["patient"], admin_user, django_capture_on_commit_callbacks)
    other = PatientFactory()
    login(client, admin_user)
    assert client.get(reverse("records:sar_download", args=[other.pk, sar.pk, "pdf"])).status_code == 404
    assert client.get(reverse("records:sar_detail", args=[other.pk, sar.pk])).status_code == 404


# -- progress and failure ----------------------------------------------------------------------


def test_progress_partial_polls_while_generating_and_stops_when_ready(client, patient, admin_user):
    sar = services.subject_access_create(
        logged_by=admin_user, patient=patient, received_on=timezone.localdate(), requester_kind="patient"
    )
    SubjectAccessRequest.objects.filter(pk=sar.pk).update(
        status=SubjectAccessStatus.GENERATING,
        progress=40,
        progress_step="Collecting allergies and intolerances",
        progress_at=timezone.now(),
    )
    login(client, admin_user)
    url = reverse("records:sar_progress", args=[patient.pk, sar.pk])
    before = AuditEvent.objects.count()
    polling = client.get(url, headers={"HX-Request": "true"})
    assert polling.status_code == 200
    assert b'hx-trigger="every 2s"' in polling.content
    assert b"40%" in polling.content and b"Collecting allergies and intolerances" in polling.content
    assert AuditEvent.objects.count() == before  # polling reveals no record content and is not audited

    SubjectAccessRequest.objects.filter(pk=sar.pk).update(
        status=SubjectAccessStatus.READY, pdf_file="subject-access/x.pdf", generated_at=timezone.now()
    )
    done = client.get(url, headers={"HX-Request": "true"})
    assert b"hx-get" not in done.content and b"Download PDF" in done.content


@pytest.fixture
def broken_section():
    def collect(patient):
        raise RuntimeError("care plan store unavailable")

    register_section("broken-for-test", "Broken test section", collect, order=35)
    yield
    unregister_section("broken-for-test")


def test_a_failing_section_marks_the_request_failed_with_a_message(
    client, record, admin_user, django_capture_on_commit_callbacks, broken_section
):
    patient = record["patient"]
    sar = services.subject_access_create(
        logged_by=admin_user, patient=patient, received_on=timezone.localdate(), requester_kind="patient"
    )
    login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("records:sar_generate", args=[patient.pk, sar.pk]))
    assert response.status_code == 302
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.FAILED
    assert "broken test section" in sar.error_message and "care plan store unavailable" in sar.error_message
    assert not sar.pdf_file and not AuditEvent.objects.filter(action=Action.EXPORT).exists()
    page = client.get(reverse("records:sar_detail", args=[patient.pk, sar.pk]))
    assert b"The export failed" in page.content and b"Generate export" in page.content

    unregister_section("broken-for-test")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("records:sar_generate", args=[patient.pk, sar.pk]))
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.READY and sar.error_message == ""


def test_another_module_can_add_a_section(record, admin_user, django_capture_on_commit_callbacks):
    def care_plans(patient):
        return [
            SectionEntry(
                id="1", when=timezone.now(), summary="Falls prevention plan", details={"Goal": "No falls"}
            )
        ]

    register_section("care-plans-test", "Care plans (test)", care_plans, order=70)
    try:
        sar = _ready_request(record["patient"], admin_user, django_capture_on_commit_callbacks)
    finally:
        unregister_section("care-plans-test")
    export = json.loads(sar.json_file.read())
    plans = next(s for s in export["sections"] if s["key"] == "care-plans-test")
    assert plans["entries"][0]["details"] == {"Goal": "No falls"}


def test_closing_needs_a_ready_export_and_keeps_the_files(
    client, record, admin_user, django_capture_on_commit_callbacks
):
    sar = _ready_request(record["patient"], admin_user, django_capture_on_commit_callbacks)
    login(client, admin_user)
    client.post(reverse("records:sar_close", args=[sar.patient_id, sar.pk]))
    sar.refresh_from_db()
    assert sar.status == SubjectAccessStatus.CLOSED and sar.closed_by == admin_user
    assert _download(client, sar, "pdf").startswith(b"%PDF")
    assert sar.history.count() >= 3


# -- the deadline list -------------------------------------------------------------------------


def test_managers_and_ig_see_open_requests_with_days_left_overdue_first(
    client, admin_user, manager, clerk, nurse, django_assert_max_num_queries
):

    today = timezone.localdate()
    overdue_patient, due_patient, closed_patient = PatientFactory(), PatientFactory(), PatientFactory()
    overdue = services.subject_access_create(
        logged_by=admin_user,
        patient=overdue_patient,
        received_on=today - timedelta(days=40),
        requester_kind="representative",
        requester_description="Solicitor, with written consent",
    )
    due = services.subject_access_create(
        logged_by=admin_user,
        patient=due_patient,
        received_on=today - timedelta(days=2),
        requester_kind="patient",
    )
    closed = services.subject_access_create(
        logged_by=admin_user,
        patient=closed_patient,
        received_on=today - timedelta(days=50),
        requester_kind="patient",
    )
    SubjectAccessRequest.objects.filter(pk=closed.pk).update(status=SubjectAccessStatus.CLOSED)

    login(client, manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("records:sar_deadlines"))
    assert page.status_code == 200
    content = page.content.decode()
    assert closed_patient.hospital_number not in content
    assert content.index(overdue_patient.hospital_number) < content.index(due_patient.hospital_number)
    assert f"Overdue by {overdue.days_overdue} days" in content
    assert f">{due.days_left}<" in content
    assert (
        reverse("records:sar_detail", args=[overdue_patient.pk, overdue.pk]) not in content
    )  # managers only see the list
    assert AuditEvent.objects.filter(
        action=Action.VIEW, username="mona", detail__list="subject-access-requests"
    ).exists()

    login(client, admin_user)
    assert (
        reverse("records:sar_detail", args=[overdue_patient.pk, overdue.pk])
        in client.get(reverse("records:sar_deadlines")).content.decode()
    )

    for user in (clerk, nurse):
        login(client, user)
        assert client.get(reverse("records:sar_deadlines")).status_code == 403


def test_resuscitation_and_escalation_decisions_are_exported(admitted, doctor):
    """Found by the guard that every patient-linked model is exported: CPR decisions were missing."""

    first = plan(admitted.patient, doctor)
    services.escalation_plan_mark_error(
        marked_by=doctor, plan=first, expected_version=first.version, reason="Wrong patient"
    )
    plan(admitted.patient, doctor, cpr_decision="attempt", escalation_level="full")
    sections, _ = collect_export(admitted.patient, redactions=[])
    entries = next(s for s in sections if s.key == "escalation-plans").entries
    assert [e.summary for e in entries] == [
        "Do not attempt CPR (DNACPR); Ward-based care: not for intensive care",
        "For attempted CPR; Full escalation, including intensive care",
    ]
    assert entries[0].entered_in_error and entries[0].details["Entered in error because"] == "Wrong patient"
    assert entries[1].details["Senior clinician responsible"] == "Dr Dee, consultant"
