"""Clinical notes from admin-configured templates: draft, sign, countersign, amend, entered-in-error."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from epr.audit.models import AuditEvent
from records import services
from records.errors import RecordError, StaleEdit
from records.models import ClinicalNote, NoteStatus, NoteTemplate, NoteType, template_field_errors
from tests.support import login

FIELDS = [
    {"key": "impression", "label": "Impression", "kind": "textarea", "required": True},
    {"key": "plan", "label": "Plan", "kind": "textarea", "required": True},
    {"key": "news2", "label": "NEWS2 score", "kind": "number"},
    {
        "key": "escalation",
        "label": "Escalation status",
        "kind": "choice",
        "required": True,
        "choices": ["Full escalation", "Ward-based care"],
    },
    {"key": "dnacpr", "label": "DNACPR in place", "kind": "yes_no"},
    {"key": "review_on", "label": "Review on", "kind": "date", "help": "Leave blank if not needed"},
]
COMPLETE = {"impression": "Improving CAP", "plan": "Oral antibiotics", "escalation": "Full escalation"}


@pytest.fixture
def template(db):
    return NoteTemplate.objects.create(
        name="Test ward round", note_type=NoteType.WARD_ROUND, fields=FIELDS, countersign_roles=["hca"]
    )


def _signed(author, patient, template, **values):
    return services.note_start(
        author=author, patient=patient, template=template, values={**COMPLETE, **values}, sign=True
    )


# Templates -------------------------------------------------------------------------------------


def test_starter_templates_cover_every_note_type_and_are_valid(db):
    starters = NoteTemplate.objects.filter(active=True)
    assert {t.note_type for t in starters} >= set(NoteType.values)
    for template in starters:
        assert template_field_errors(template.fields) == [], template.name
        template.full_clean()
    ward_round = NoteTemplate.objects.get(name="Ward round")
    assert [f["label"] for f in ward_round.fields if f["required"]] == [
        "Impression",
        "Plan",
        "Escalation status / TEP",
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "plan"}, "JSON list"),
        (["plan"], "must be an object"),
        ([{"key": "Plan!", "label": "Plan", "kind": "text"}], "key must start"),
        ([{"key": "plan", "label": "Plan", "kind": "essay"}], "kind must be one of"),
        ([{"key": "plan", "label": " ", "kind": "text"}], "give a label"),
        ([{"key": "plan", "label": "Plan", "kind": "text", "required": "yes"}], "true or false"),
        (
            [{"key": "plan", "label": "Plan", "kind": "text"}, {"key": "plan", "label": "B", "kind": "text"}],
            "used twice",
        ),
        ([{"key": "tep", "label": "TEP", "kind": "choice"}], "needs a list of options"),
        ([{"key": "tep", "label": "TEP", "kind": "choice", "choices": ["A", "A"]}], "must differ"),
        ([{"key": "tep", "label": "TEP", "kind": "text", "choices": ["A"]}], "only a choice field"),
        ([{"key": "tep", "label": "TEP", "kind": "text", "colour": "red"}], "unknown attributes colour"),
        ([{"key": "title", "label": "Title", "kind": "text"}], "title is reserved"),
    ],
)
def test_template_field_definitions_are_checked(db, fields, message):
    template = NoteTemplate(name="Bad", note_type=NoteType.NURSING, fields=fields)
    with pytest.raises(ValidationError, match=message):
        template.full_clean()


def test_template_roles_must_be_clinical_roles(db):
    template = NoteTemplate(name="Bad", note_type=NoteType.MDT, fields=FIELDS, countersign_roles=["clerk"])
    with pytest.raises(ValidationError, match="Countersign roles"):
        template.full_clean()


def test_role_may_only_write_the_templates_it_is_allowed(patient, colleague, doctor):
    discharge = NoteTemplate.objects.get(name="Discharge summary")
    with pytest.raises(RecordError, match="may not write Discharge summary"):
        services.note_start(author=colleague, patient=patient, template=discharge)
    assert services.note_start(author=doctor, patient=patient, template=discharge).is_draft


def test_inactive_templates_cannot_be_used(patient, nurse, template):
    template.active = False
    template.save()
    with pytest.raises(RecordError, match="no longer in use"):
        services.note_start(author=nurse, patient=patient, template=template)


# Draft, sign, countersign ------------------------------------------------------------------------


def test_draft_then_sign_refuses_missing_required_fields_naming_them(patient, nurse, template):
    draft = services.note_start(
        author=nurse, patient=patient, template=template, values={"impression": "Better"}
    )
    assert (draft.status, draft.version, draft.title) == (NoteStatus.DRAFT, 1, "Test ward round")
    with pytest.raises(RecordError, match="Enter Plan") as refused:
        services.note_sign(signed_by=nurse, note=draft, expected_version=1)
    assert refused.value.field == "plan"
    draft = services.note_save_draft(
        saved_by=nurse,
        note=draft,
        expected_version=1,
        values={**COMPLETE, "news2": "3", "dnacpr": "no", "review_on": "2026-12-01"},
        free_text="Seen with daughter.",
    )
    assert draft.values["news2"] == 3
    assert draft.values["dnacpr"] is False
    signed = services.note_sign(signed_by=nurse, note=draft, expected_version=2)
    assert (signed.status, signed.countersign_required, signed.version) == (NoteStatus.SIGNED, False, 3)
    assert signed.signed_at is not None
    assert ("Review on", "01-12-2026") in signed.rows
    assert ("DNACPR in place", "No") in signed.rows
    assert (
        AuditEvent.objects.filter(object_type="records.ClinicalNote", object_id=str(signed.pk)).count() == 3
    )
    with pytest.raises(RecordError, match="already signed"):
        services.note_save_draft(saved_by=nurse, note=signed, expected_version=3, values={}, free_text="")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"news2": "three"}, "news2", "NEWS2 score must be a number"),
        ({"news2": "NaN"}, "news2", "must be a number"),
        ({"escalation": "Maybe"}, "escalation", "Choose Escalation status"),
        ({"dnacpr": "perhaps"}, "dnacpr", "yes or no"),
        ({"review_on": "31/02/2026"}, "review_on", "must be a date"),
        ({"plan": "x" * 10_001}, "plan", "10000 characters or fewer"),
    ],
)
def test_values_are_checked_against_the_template(patient, nurse, template, values, field, message):
    with pytest.raises(RecordError, match=message) as refused:
        services.note_start(author=nurse, patient=patient, template=template, values=values)
    assert refused.value.field == field
    assert not ClinicalNote.objects.exists()


def test_unknown_fields_and_empty_notes_are_refused(patient, nurse, template):
    with pytest.raises(RecordError, match="no field called mood"):
        services.note_start(author=nurse, patient=patient, template=template, values={"mood": "Low"})
    free = NoteTemplate.objects.create(name="Free", note_type=NoteType.NURSING, fields=[])
    with pytest.raises(RecordError, match="empty note"):
        services.note_start(author=nurse, patient=patient, template=free, sign=True)
    assert not ClinicalNote.objects.exists()


def test_hca_notes_need_countersigning_by_someone_else(patient, colleague, nurse, doctor, template):
    note = _signed(colleague, patient, template)
    assert (note.status, note.countersign_required) == (NoteStatus.AWAITING_COUNTERSIGNATURE, True)
    with pytest.raises(RecordError, match="your own note"):
        services.note_countersign(countersigned_by=colleague, note=note, expected_version=note.version)
    done = services.note_countersign(countersigned_by=nurse, note=note, expected_version=note.version)
    assert (done.status, done.countersigned_by) == (NoteStatus.COUNTERSIGNED, nurse)
    with pytest.raises(RecordError, match="not awaiting"):
        services.note_countersign(countersigned_by=doctor, note=done, expected_version=done.version)
    nurse_note = _signed(nurse, patient, template)
    assert nurse_note.status == NoteStatus.SIGNED
    with pytest.raises(RecordError, match="not awaiting"):
        services.note_countersign(
            countersigned_by=doctor, note=nurse_note, expected_version=nurse_note.version
        )


def test_only_the_author_changes_or_signs_a_draft(patient, nurse, doctor, template):
    draft = services.note_start(author=nurse, patient=patient, template=template, values=COMPLETE)
    with pytest.raises(RecordError, match="Only the author"):
        services.note_save_draft(saved_by=doctor, note=draft, expected_version=1, values={}, free_text="x")
    with pytest.raises(RecordError, match="Only the author"):
        services.note_sign(signed_by=doctor, note=draft, expected_version=1)
    with pytest.raises(RecordError, match="Only the author"):
        services.note_mark_error(marked_by=doctor, note=draft, reason="Not mine")
    with pytest.raises(StaleEdit):
        services.note_sign(signed_by=nurse, note=draft, expected_version=7)
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (NoteStatus.DRAFT, 1)


def test_a_signed_note_keeps_its_template_snapshot(patient, nurse, template):
    note = _signed(nurse, patient, template)
    template.fields = [{"key": "summary", "label": "Summary", "kind": "textarea", "required": True}]
    template.save()
    note.refresh_from_db()
    assert note.rows[0] == ("Impression", "Improving CAP")


# Amend and entered-in-error ------------------------------------------------------------------


def test_amend_needs_a_reason_the_current_version_and_keeps_history(patient, nurse, doctor, template):
    note = _signed(nurse, patient, template)
    with pytest.raises(RecordError, match="reason"):
        services.note_amend(
            amended_by=nurse,
            note=note,
            expected_version=note.version,
            values=COMPLETE,
            free_text="",
            reason=" ",
        )
    amended = services.note_amend(
        amended_by=doctor,
        note=note,
        expected_version=note.version,
        values={**COMPLETE, "plan": "IV antibiotics for 48 hours"},
        free_text="",
        reason="Plan changed after consultant review " + "in detail " * 12,
    )
    with pytest.raises(StaleEdit):
        services.note_amend(
            amended_by=nurse,
            note=note,
            expected_version=note.version,
            values=COMPLETE,
            free_text="",
            reason="Old screen",
        )
    assert amended.status == NoteStatus.SIGNED
    assert amended.amendment_reason.startswith("Plan changed after consultant review")
    assert [h.values["plan"] for h in amended.history.order_by("history_id")][-2:] == [
        "Oral antibiotics",
        "IV antibiotics for 48 hours",
    ]
    with pytest.raises(RecordError, match="Nothing was changed"):
        services.note_amend(
            amended_by=doctor,
            note=amended,
            expected_version=amended.version,
            values=amended.values,
            free_text="",
            reason="Again",
        )


def test_amend_is_for_signed_notes_by_their_author_or_a_doctor(patient, nurse, colleague, template):
    draft = services.note_start(author=nurse, patient=patient, template=template, values=COMPLETE)
    with pytest.raises(RecordError, match="Only a signed note"):
        services.note_amend(
            amended_by=nurse, note=draft, expected_version=1, values=COMPLETE, free_text="x", reason="r"
        )
    note = _signed(nurse, patient, template)
    with pytest.raises(RecordError, match="author or a doctor"):
        services.note_amend(
            amended_by=colleague,
            note=note,
            expected_version=note.version,
            values=COMPLETE,
            free_text="x",
            reason="r",
        )
    with pytest.raises(RecordError, match="Enter Impression"):
        services.note_amend(
            amended_by=nurse,
            note=note,
            expected_version=note.version,
            values={**COMPLETE, "impression": ""},
            free_text="",
            reason="r",
        )


def test_an_hca_amendment_needs_countersigning_again(patient, colleague, nurse, template):
    note = _signed(colleague, patient, template)
    note = services.note_countersign(countersigned_by=nurse, note=note, expected_version=note.version)
    note = services.note_amend(
        amended_by=colleague,
        note=note,
        expected_version=note.version,
        values=COMPLETE,
        free_text="Also washed and dressed.",
        reason="Forgot personal care",
    )
    assert (note.status, note.countersigned_by) == (NoteStatus.AWAITING_COUNTERSIGNATURE, None)


def test_entered_in_error_is_kept_and_cannot_be_changed(patient, nurse, template):
    note = _signed(nurse, patient, template)
    with pytest.raises(RecordError, match="reason"):
        services.note_mark_error(marked_by=nurse, note=note, reason="")
    marked = services.note_mark_error(marked_by=nurse, note=note, reason="Wrong patient")
    assert ClinicalNote.objects.filter(pk=note.pk, status=NoteStatus.ENTERED_IN_ERROR).exists()
    assert marked.error_reason == "Wrong patient"
    with pytest.raises(RecordError, match="entered in error"):
        services.note_amend(
            amended_by=nurse,
            note=marked,
            expected_version=marked.version,
            values=COMPLETE,
            free_text="x",
            reason="r",
        )


# Pages ------------------------------------------------------------------------------------------


def _form(template_values: dict, **extra) -> dict:
    return {**template_values, **extra}


def test_write_save_draft_then_sign_through_the_pages(client, admitted, nurse, template):
    login(client, nurse)
    url = reverse("records:note_new", args=[admitted.patient_id])
    choose = client.get(url)
    assert b"Test ward round" in choose.content
    assert b"Discharge summary" not in choose.content  # doctors only
    form = client.get(url, {"template": template.pk})
    assert b'name="escalation"' in form.content
    assert b"Review on" in form.content
    response = client.post(
        url, _form({"impression": "Settling"}, template=template.pk, action="draft", free_text="Comfortable")
    )
    draft = ClinicalNote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("records:note_edit", args=[admitted.patient_id, draft.pk])
    assert draft.encounter == admitted
    edit = reverse("records:note_edit", args=[admitted.patient_id, draft.pk])
    refused = client.post(edit, _form({"impression": "Settling"}, version=1, action="sign"))
    assert refused.status_code == 200
    assert b"nhsuk-error-summary" in refused.content
    assert b"Enter Plan: it is needed to sign this note." in refused.content
    assert b'href="#id_plan"' in refused.content
    response = client.post(
        edit,
        _form({**COMPLETE, "dnacpr": "yes", "news2": "4"}, version=1, action="sign", free_text="Comfortable"),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.values["dnacpr"], draft.values["news2"]) == (NoteStatus.SIGNED, True, 4)
    listing = client.get(reverse("records:note_list", args=[admitted.patient_id]))
    assert b"Oral antibiotics" in listing.content
    assert b"Comfortable" in listing.content


def test_form_and_service_errors_show_in_the_error_summary(client, admitted, nurse, template):
    login(client, nurse)
    url = reverse("records:note_new", args=[admitted.patient_id])
    response = client.post(url, _form({**COMPLETE, "news2": "lots"}, template=template.pk, action="sign"))
    assert b"NEWS2 score must be a number." in response.content
    free = NoteTemplate.objects.create(
        name="Free text", note_type=NoteType.NURSING, fields=[{"key": "a", "label": "A", "kind": "text"}]
    )
    response = client.post(url, {"template": free.pk, "action": "sign", "free_text": "  "})
    assert response.status_code == 200
    assert b"nhsuk-error-summary" in response.content
    assert b'href="#id_free_text">An empty note cannot be signed.' in response.content
    assert not ClinicalNote.objects.exists()


def test_another_user_cannot_see_or_open_someone_elses_draft(client, admitted, nurse, doctor, template):
    draft = services.note_start(
        author=nurse, patient=admitted.patient, template=template, values={"impression": "Secret draft"}
    )
    login(client, doctor)
    listing = client.get(reverse("records:note_list", args=[admitted.patient_id]))
    assert b"Secret draft" not in listing.content
    for name in ("note_edit", "note_history", "note_amend"):
        assert (
            client.get(reverse(f"records:{name}", args=[admitted.patient_id, draft.pk])).status_code == 404
        ), name
    response = client.post(
        reverse("records:note_mark_error", args=[admitted.patient_id, draft.pk]), {"reason": "Tidying"}
    )
    assert response.status_code == 404
    login(client, nurse)
    assert b"Secret draft" in client.get(reverse("records:note_list", args=[admitted.patient_id])).content


def test_a_discarded_draft_stays_private(client, admitted, nurse, doctor, template):
    draft = services.note_start(
        author=nurse, patient=admitted.patient, template=template, values={"impression": "Half a thought"}
    )
    login(client, nurse)
    response = client.post(
        reverse("records:note_mark_error", args=[admitted.patient_id, draft.pk]),
        {"reason": "Started by mistake"},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == NoteStatus.ENTERED_IN_ERROR
    login(client, doctor)
    assert (
        b"Half a thought" not in client.get(reverse("records:note_list", args=[admitted.patient_id])).content
    )
    assert (
        client.get(reverse("records:note_history", args=[admitted.patient_id, draft.pk])).status_code == 404
    )


def test_amended_and_in_error_notes_show_why_and_the_history_shows_each_version(
    client, admitted, nurse, doctor, template
):
    note = _signed(nurse, admitted.patient, template)
    wrong = _signed(nurse, admitted.patient, template, impression="Belongs elsewhere")
    login(client, doctor)
    amend = reverse("records:note_amend", args=[admitted.patient_id, note.pk])
    assert b"Oral antibiotics" in client.get(amend).content
    response = client.post(
        amend, _form({**COMPLETE, "plan": "IV co-amoxiclav"}, version=note.version, reason="")
    )
    assert response.status_code == 200
    assert b"nhsuk-error-summary" in response.content
    response = client.post(
        amend,
        _form({**COMPLETE, "plan": "IV co-amoxiclav"}, version=note.version, reason="Sepsis screen positive"),
    )
    assert response.status_code == 302
    stale = client.post(
        amend, _form({**COMPLETE, "plan": "Something else"}, version=note.version, reason="Old tab")
    )
    assert b"Someone else changed this record" in stale.content
    login(client, nurse)
    client.post(
        reverse("records:note_mark_error", args=[admitted.patient_id, wrong.pk]), {"reason": "Wrong patient"}
    )
    listing = client.get(reverse("records:note_list", args=[admitted.patient_id])).content.decode()
    assert "Amended</strong>" in listing
    assert "Sepsis screen positive" in listing
    assert "Entered in error: Wrong patient" in listing
    assert "Belongs elsewhere" in listing  # kept, struck through
    history = client.get(
        reverse("records:note_history", args=[admitted.patient_id, note.pk])
    ).content.decode()
    assert "Amended: Sepsis screen positive" in history
    assert "IV co-amoxiclav" in history
    assert "Oral antibiotics" in history
    assert "Changed: Plan" in history
    assert len(re.findall(r'data-testid="note-version"', history)) == 3  # draft started, signed, amended


# Permission matrix ------------------------------------------------------------------------------


@pytest.fixture
def staff(ward, nurse, colleague, outsider, doctor, pharmacist, clerk, manager, admin_user):
    services.ward_add_staff(ward=ward, users=[pharmacist])  # the ward pharmacist
    return {
        "nurse": nurse,
        "hca": colleague,
        "doctor": doctor,
        "pharmacist": pharmacist,
        "outsider": outsider,
        "clerk": clerk,
        "manager": manager,
        "admin": admin_user,
    }


WRITE = {
    "nurse": 302,
    "hca": 302,
    "doctor": 302,
    "pharmacist": 302,
    "outsider": 403,
    "clerk": 403,
    "manager": 403,
    "admin": 403,
}


@pytest.mark.parametrize(("who", "status"), WRITE.items())
def test_who_may_write_a_note(client, staff, admitted, template, who, status):
    response = login(client, staff[who]).post(
        reverse("records:note_new", args=[admitted.patient_id]),
        _form(COMPLETE, template=template.pk, action="sign"),
    )
    assert response.status_code == status
    assert ClinicalNote.objects.count() == (1 if status == 302 else 0)


COUNTERSIGN = {
    "nurse": 302,
    "doctor": 302,
    "hca": 403,  # the author, and HCAs do not countersign
    "pharmacist": 403,
    "outsider": 403,
    "clerk": 403,
    "manager": 403,
    "admin": 403,
}


@pytest.mark.parametrize(("who", "status"), COUNTERSIGN.items())
def test_who_may_countersign(client, staff, admitted, template, who, status):
    note = _signed(staff["hca"], admitted.patient, template)
    response = login(client, staff[who]).post(
        reverse("records:note_countersign", args=[admitted.patient_id, note.pk]), {"version": note.version}
    )
    assert response.status_code == status
    note.refresh_from_db()
    expected = NoteStatus.COUNTERSIGNED if status == 302 else NoteStatus.AWAITING_COUNTERSIGNATURE
    assert note.status == expected
    assert note.version == (3 if status == 302 else 2)


AMEND = {
    "nurse": 302,  # the author
    "doctor": 302,
    "hca": 403,
    "pharmacist": 403,
    "outsider": 403,
    "clerk": 403,
    "manager": 403,
    "admin": 403,
}


@pytest.mark.parametrize(("who", "status"), AMEND.items())
def test_who_may_amend(client, staff, admitted, template, who, status):
    note = _signed(staff["nurse"], admitted.patient, template)
    response = login(client, staff[who]).post(
        reverse("records:note_amend", args=[admitted.patient_id, note.pk]),
        _form({**COMPLETE, "plan": "Changed"}, version=note.version, reason="Correction"),
    )
    assert response.status_code == status
    note.refresh_from_db()
    assert note.values["plan"] == ("Changed" if status == 302 else "Oral antibiotics")
    assert note.version == (3 if status == 302 else 2)


@pytest.mark.parametrize(("who", "status"), AMEND.items())
def test_who_may_mark_a_note_in_error(client, staff, admitted, template, who, status):
    note = _signed(staff["nurse"], admitted.patient, template)
    response = login(client, staff[who]).post(
        reverse("records:note_mark_error", args=[admitted.patient_id, note.pk]), {"reason": "Wrong patient"}
    )
    assert response.status_code == status
    note.refresh_from_db()
    assert note.status == (NoteStatus.ENTERED_IN_ERROR if status == 302 else NoteStatus.SIGNED)


def test_notes_link_shows_for_clinical_staff_only(client, admitted, nurse, clerk):
    notes_url = reverse("records:note_list", args=[admitted.patient_id]).encode()
    assert (
        notes_url
        in login(client, nurse).get(reverse("records:patient_detail", args=[admitted.patient_id])).content
    )
    assert (
        notes_url
        not in login(client, clerk).get(reverse("records:patient_detail", args=[admitted.patient_id])).content
    )


# Query count -----------------------------------------------------------------------------------


def _notes(patient, nurse, colleague, doctor, template, how_many):
    for n in range(how_many):
        kind = n % 3
        if kind == 0:
            _signed(colleague, patient, template)  # awaiting countersignature
        elif kind == 1:
            note = _signed(nurse, patient, template)
            services.note_amend(
                amended_by=doctor,
                note=note,
                expected_version=note.version,
                values={**COMPLETE, "plan": f"Plan {n}"},
                free_text="",
                reason="Reviewed",
            )
        else:
            services.note_start(author=nurse, patient=patient, template=template, values={"plan": "Draft"})


def test_notes_list_query_count_is_constant(
    client, admitted, nurse, colleague, doctor, template, django_assert_max_num_queries
):
    login(client, nurse)
    _notes(admitted.patient, nurse, colleague, doctor, template, 3)
    with django_assert_max_num_queries(20) as few:  # with the clinical banner
        small = client.get(reverse("records:note_list", args=[admitted.patient_id]))
    _notes(admitted.patient, nurse, colleague, doctor, template, 27)
    with django_assert_max_num_queries(20) as many:  # with the clinical banner
        large = client.get(reverse("records:note_list", args=[admitted.patient_id]))
    assert len(many) == len(few)
    assert small.status_code == large.status_code == 200
    assert small.content.count(b'data-testid="note"') == 3
    assert large.content.count(b'data-testid="note"') == 25  # one page
    assert b"Older notes" in large.content


# Django admin ----------------------------------------------------------------------------------


def test_administrator_configures_a_template_that_a_nurse_then_uses(client, admin_user, admitted, nurse):
    admin_user.is_staff = True
    admin_user.save()
    login(client, admin_user)
    add = reverse("admin:records_notetemplate_add")
    assert client.get(add).status_code == 200
    form = {
        "name": "Falls assessment",
        "note_type": "nursing",
        "description": "After any fall",
        "active": "on",
        "writer_roles": ["nurse"],
        "countersign_roles": [],
        "fields": json.dumps([{"key": "injury", "label": "Injury", "kind": "yes_no"}]),
    }
    bad = client.post(add, {**form, "fields": '[{"key": "injury", "label": "Injury", "kind": "essay"}]'})
    assert bad.status_code == 200
    assert b"kind must be one of" in bad.content
    bad_json = client.post(add, {**form, "fields": "[{not json"})
    assert bad_json.status_code == 200
    assert not NoteTemplate.objects.filter(name="Falls assessment").exists()
    assert (
        client.post(
            add,
            {
                **form,
                "fields": json.dumps(
                    [
                        {"key": "injury", "label": "Injury", "kind": "yes_no", "required": True},
                        {
                            "key": "head_injury",
                            "label": "Head struck",
                            "kind": "choice",
                            "choices": ["Yes", "No", "Not known"],
                        },
                    ]
                ),
            },
        ).status_code
        == 302
    )
    falls = NoteTemplate.objects.get(name="Falls assessment")
    assert falls.writer_roles == ["nurse"]
    change = reverse("admin:records_notetemplate_change", args=[falls.pk])
    assert client.get(change).status_code == 200

    login(client, nurse)
    response = client.post(
        reverse("records:note_new", args=[admitted.patient_id]),
        {"template": falls.pk, "action": "sign", "injury": "no", "head_injury": "Not known"},
    )
    assert response.status_code == 302
    note = ClinicalNote.objects.get(template=falls)
    assert note.rows == [("Injury", "No"), ("Head struck", "Not known")]
    assert note.status == NoteStatus.SIGNED


def test_clinicians_cannot_reach_the_template_admin(client, nurse):
    response = login(client, nurse).get(reverse("admin:records_notetemplate_changelist"))
    assert response.status_code == 302  # to the admin login: not staff
