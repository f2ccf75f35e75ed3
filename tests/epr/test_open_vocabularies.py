"""Vocabularies another app extends without a kernel change or a migration: audit verbs, care
relationship kinds, and the kernel's registry of reports and statutory returns."""

from __future__ import annotations

import pytest
from django.urls import reverse

from epr import reports
from epr.audit import actions
from epr.audit.models import Action, AuditEvent
from epr.audit.services import audit_patients_shown, audit_record
from records import services
from records.registries import care_relationships
from tests.support import login


@pytest.fixture
def administer_verb():
    actions.register_audit_action("administer", "Administered")
    yield "administer"
    actions.AUDIT_ACTIONS.forget("administer")


def test_an_unregistered_audit_verb_is_refused_and_nothing_is_written(db, nurse, patient):
    before = AuditEvent.objects.count()
    with pytest.raises(LookupError, match="administer"):
        audit_record(user=nurse, action="administer", patient_id=patient.pk)
    with pytest.raises(LookupError, match="administer"):
        audit_patients_shown(user=nurse, action="administer", patient_ids=[patient.pk], detail={})
    assert AuditEvent.objects.count() == before


def test_a_registered_verb_is_written_and_read_back_in_words(client, admin_user, admitted, administer_verb):
    audit_record(user=admin_user, action=administer_verb, patient_id=admitted.patient_id)
    page = login(client, admin_user).get(reverse("records:patient_access_log", args=[admitted.patient_id]))
    assert page.status_code == 200
    assert "Administered" in page.content.decode()


def test_a_verb_cannot_be_registered_twice_with_different_words(administer_verb):
    actions.register_audit_action("administer", "Administered")  # the same again is harmless
    with pytest.raises(ValueError, match="already registered"):
        actions.register_audit_action("administer", "Given")
    with pytest.raises(ValueError, match="1 to 20"):
        actions.register_audit_action("x" * 21, "Too long")


def test_the_kernel_verbs_read_as_words_and_an_unknown_code_as_itself():
    assert actions.audit_action_label(Action.BREAK_GLASS) == "Break-glass access"
    assert actions.audit_action_label("retired-verb") == "retired-verb"


def test_a_care_relationship_of_an_unregistered_kind_is_refused(db, patient, ward):
    with pytest.raises(LookupError, match="hospice"):
        services.care_relationship_start(
            patient=patient, group=ward.staff_group, kind="hospice", encounter=None
        )
    assert not patient.care_relationships.exists()


def test_a_registered_care_relationship_kind_gives_access(db, patient, ward):
    care_relationships.register_care_relationship_kind("hospice", "Hospice in-reach")
    try:
        relationship = services.care_relationship_start(
            patient=patient, group=ward.staff_group, kind="hospice", encounter=None
        )
        assert care_relationships.care_relationship_kind_label(relationship.kind) == "Hospice in-reach"
        with pytest.raises(ValueError, match="already registered"):
            care_relationships.register_care_relationship_kind("hospice", "Hospice")
    finally:
        care_relationships.CARE_RELATIONSHIP_KINDS.forget("hospice")


def test_each_app_registers_its_own_care_relationship_kinds():
    assert care_relationships.care_relationship_kinds() == {
        "ward": "On the ward",  # records
        "team": "Treating team",
        "clinic": "Clinic appointment",  # scheduling
        "referral": "Referral to the team",
    }


def _table(user, params):
    return reports.ReportTable(("Ward", "Beds"), [("Ward 7", 24)])


@pytest.fixture
def occupancy():
    report = reports.Report(
        code="test-occupancy",
        title="Bed occupancy",
        answers="How full is each ward?",
        area="Patient flow",
        roles=frozenset({"manager"}),
        run=_table,
        parameters=("date_range", "ward"),
    )
    reports.register_report(report)
    yield report
    reports._reports.pop(report.code)


def test_the_report_catalogue_shows_a_role_only_what_it_may_run(occupancy, manager, nurse):
    assert occupancy in reports.reports_for(manager)
    assert occupancy not in reports.reports_for(nurse)
    assert reports.report("test-occupancy").run(manager, {}).rows == [("Ward 7", 24)]
    with pytest.raises(LookupError):
        reports.report("no-such-report")


def test_a_report_code_is_taken_once_and_parameters_are_from_the_known_set(occupancy):
    reports.register_report(occupancy)  # the same report again is harmless
    with pytest.raises(ValueError, match="already registered"):
        reports.register_report(reports.Report(**{**occupancy.__dict__, "title": "Another"}))
    with pytest.raises(ValueError, match="unknown parameters"):
        reports.Report(**{**occupancy.__dict__, "code": "bad", "parameters": ("postcode",)})


def test_a_statutory_return_has_a_known_period(manager):
    kh03 = reports.StatutoryReturn(
        code="test-kh03",
        title="KH03",
        period="quarterly",
        roles=frozenset({"manager"}),
        generate=lambda s, e: {},
    )
    reports.register_statutory_return(kh03)
    try:
        assert reports.statutory_returns_for(manager) == [kh03]
        assert reports.statutory_return("test-kh03") is kh03
    finally:
        reports._returns.pop("test-kh03")
    with pytest.raises(ValueError, match="period"):
        reports.StatutoryReturn(
            code="x", title="X", period="weekly", roles=frozenset(), generate=lambda s, e: {}
        )
