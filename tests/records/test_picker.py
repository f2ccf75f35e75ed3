"""The SNOMED CT picker without JavaScript: one combobox whose search is submitted with the form.

A search matching one concept picks it; several are listed as radio options; the choice and the
matches survive a validation error elsewhere; a changed search drops an earlier choice.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from epr.terminology.models import CodeSystem, Concept
from records.models import AllergyIntolerance, Problem
from tests.support import login

COPD = "13645005"
PENICILLIN = "764146007"
CO_AMOXICLAV = "96067005"
PROBLEM = {"clinical_status": "active", "verification": "confirmed"}
ALLERGY = {"kind": "allergy", "verification": "confirmed"}


@pytest.fixture
def doctor_client(client, doctor):
    return login(client, doctor)


def _problem_url(admitted) -> str:
    return reverse("records:problem_new", args=[admitted.patient_id])


def _allergy_url(admitted) -> str:
    return reverse("records:allergy_new", args=[admitted.patient_id])


def test_the_form_page_is_one_combobox_with_its_script(doctor_client, admitted):
    html = doctor_client.get(_problem_url(admitted)).content.decode()
    assert "data-epr-combobox" in html
    assert re.search(r'<input type="text" name="problem_search"[^>]*id="id_problem_search"', html)
    assert 'id="id_problem_search-listbox" role="listbox"' in html
    assert '<input type="hidden" name="snomed_code" value=""' in html
    assert "js/combobox.js" in html and 'type="module"' in html
    # The old separate select is gone, and no inline script or handler is used.
    assert 'name="snomed_code"' in html and '<select name="snomed_code"' not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    # The hint names the abbreviations it finds and is linked for screen readers.
    assert 'aria-describedby="problem_search-hint"' in html


def test_an_abbreviation_that_matches_one_concept_records_it(doctor_client, admitted):
    response = doctor_client.post(_problem_url(admitted), {"problem_search": "COPD", **PROBLEM})
    assert response.status_code == 302
    assert Problem.objects.get(patient=admitted.patient).snomed_code == COPD


def test_a_synonym_records_the_allergy_too(doctor_client, admitted):
    response = doctor_client.post(_allergy_url(admitted), {"substance_search": "co-amoxiclav", **ALLERGY})
    assert response.status_code == 302
    allergy = AllergyIntolerance.objects.get(patient=admitted.patient)
    assert (allergy.substance_code, allergy.substance_display) == (
        CO_AMOXICLAV,
        "Amoxicillin and clavulanic acid",
    )


def test_several_matches_are_radio_options_to_choose_from(doctor_client, admitted):
    response = doctor_client.post(_allergy_url(admitted), {"substance_search": "penic", **ALLERGY})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Several concepts match “penic”: choose the substance from the list" in html
    assert 'href="#id_substance_search"' in html  # the error summary points at the search box
    assert 'id="substance_search-error"' in html
    assert "Choose the substance: 2 matches for “penic”" in html
    radios = re.findall(
        r'<input class="nhsuk-radios__input"[^>]*name="substance_code"[^>]*value="(\d+)"', html
    )
    assert radios == [PENICILLIN, "373270004"]
    # The hidden code input waits for the script; without it only the radios post a code.
    assert re.search(
        r'<input type="hidden" name="substance_code" value="" data-epr-combobox-code disabled>', html
    )
    assert not AllergyIntolerance.objects.exists()

    chosen = doctor_client.post(
        _allergy_url(admitted),
        {
            "substance_search": "penic",
            "substance_search_previous": "penic",
            "substance_code": PENICILLIN,
            **ALLERGY,
        },
    )
    assert chosen.status_code == 302
    assert AllergyIntolerance.objects.get().substance_code == PENICILLIN


def test_the_choice_and_the_matches_survive_an_error_elsewhere(doctor_client, admitted):
    response = doctor_client.post(
        _allergy_url(admitted),
        {
            "substance_search": "penic",
            "substance_search_previous": "penic",
            "substance_code": PENICILLIN,
            "kind": "allergy",
            "verification": "not-a-status",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="verification-error"' in html
    assert "Chosen: <strong data-epr-combobox-chosen-label>Penicillin (764146007)</strong>" in html
    assert 'value="penic"' in html  # the search as typed
    checked = re.findall(r'<input class="nhsuk-radios__input"[^>]*value="(\d+)"[^>]*checked', html)
    assert checked == [PENICILLIN]
    assert "substance_search-error" not in html


def test_a_single_match_is_shown_chosen_after_an_error_elsewhere(doctor_client, admitted):
    # One match picks COPD; the verification is refused; the page shows COPD chosen, in a hidden input
    # (nothing left to choose between).
    response = doctor_client.post(
        _problem_url(admitted), {"problem_search": "copd", **PROBLEM, "verification": "not-a-status"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "Chosen: <strong data-epr-combobox-chosen-label>Chronic obstructive lung disease (13645005)</strong>"
        in html
    )
    assert f'<input type="hidden" name="snomed_code" value="{COPD}" data-epr-combobox-code>' in html
    assert 'name="problem_search_previous" value="copd"' in html
    assert not Problem.objects.exists()


def test_a_changed_search_drops_the_earlier_choice(doctor_client, admitted):
    response = doctor_client.post(
        _problem_url(admitted),
        {"problem_search": "heart attack", "problem_search_previous": "copd", "snomed_code": COPD, **PROBLEM},
    )
    assert response.status_code == 302
    assert Problem.objects.get().snomed_code == "22298006"  # myocardial infarction, not COPD


def test_emptying_the_search_clears_the_choice(doctor_client, admitted):
    response = doctor_client.post(
        _problem_url(admitted),
        {"problem_search": "", "problem_search_previous": "copd", "snomed_code": COPD, **PROBLEM},
    )
    assert response.status_code == 200
    assert "Search for the problem or diagnosis, then choose it" in response.content.decode()
    assert not Problem.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"problem_search": "zzzzqq"}, "No problem matches “zzzzqq”: check the spelling or try other words"),
        ({"problem_search": "c"}, "Type at least 2 letters of the problem"),
        ({}, "Search for the problem or diagnosis, then choose it"),
        ({"snomed_code": PENICILLIN}, "Choose the problem from the list"),  # an allergen, not a problem
        ({"snomed_code": "22298007"}, "Choose the problem from the list"),  # fails the check digit
        ({"snomed_code": "1" * 40}, "Choose the problem from the list"),
    ],
)
def test_a_search_or_code_that_cannot_be_recorded_says_why(doctor_client, admitted, data, message):
    response = doctor_client.post(_problem_url(admitted), {**data, **PROBLEM})
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'id="problem_search-error"' in html
    assert not Problem.objects.exists()


def test_an_allergy_not_in_the_terminology_can_be_typed_instead(doctor_client, admitted):
    no_match = doctor_client.post(_allergy_url(admitted), {"substance_search": "zzzzqq", **ALLERGY})
    assert "type the substance in the box below" in no_match.content.decode()
    typed = doctor_client.post(
        _allergy_url(admitted), {"substance_search": "zzzzqq", "substance_text": "Zzzzqq plasters", **ALLERGY}
    )
    assert typed.status_code == 302
    assert AllergyIntolerance.objects.get().substance_text == "Zzzzqq plasters"


def test_a_duplicate_allergy_is_reported_at_the_search_box(doctor_client, admitted):
    doctor_client.post(_allergy_url(admitted), {"substance_search": "co-amoxiclav", **ALLERGY})
    again = doctor_client.post(_allergy_url(admitted), {"substance_search": "co-amoxiclav", **ALLERGY})
    html = again.content.decode()
    assert "This allergy is already recorded" in html
    assert 'id="substance_search-error"' in html
    assert AllergyIntolerance.objects.count() == 1


def test_options_for_the_script_name_the_matching_synonym(doctor_client):
    response = doctor_client.get(
        reverse("records:terminology_search"), {"q": "heart attack", "subset": "problem"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="option"' in html and 'data-value="22298006"' in html
    assert 'data-label="Myocardial infarction (22298006)"' in html
    assert '<span class="epr-combobox__synonym">Heart attack</span>' in html
    too_short = doctor_client.get(reverse("records:terminology_search"), {"q": "h", "subset": "problem"})
    assert b'role="option"' not in too_short.content


def test_the_options_are_escaped(doctor_client):

    Concept.objects.create(
        system=CodeSystem.SNOMED,
        code="10000006",
        display="<b>Bold</b> & co",
        search_key="|<b>bold</b> & co|",
        subsets=["problem"],
    )
    html = doctor_client.get(
        reverse("records:terminology_search"), {"q": "bold", "subset": "problem"}
    ).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in html and "<b>" not in html


def test_the_search_takes_a_constant_number_of_queries(doctor_client, django_assert_max_num_queries):
    url = reverse("records:terminology_search")
    with django_assert_max_num_queries(8) as first:  # session, user, audit context; then one search
        doctor_client.get(url, {"q": "pn", "subset": "problem"})
    for text in ("diabetes", "copd", "heart attack"):
        with django_assert_max_num_queries(len(first.captured_queries)):
            doctor_client.get(url, {"q": text, "subset": "problem"})


def test_the_form_page_takes_a_constant_number_of_queries(
    doctor_client, admitted, django_assert_max_num_queries
):
    url = _allergy_url(admitted)
    doctor_client.post(url, {"substance_search": "pe", **ALLERGY})  # warm up the session
    with django_assert_max_num_queries(30) as few:
        doctor_client.post(url, {"substance_search": "pe", **ALLERGY})
    with django_assert_max_num_queries(len(few.captured_queries)):
        doctor_client.post(
            url, {"substance_search": "a", "substance_code": PENICILLIN, **ALLERGY, "kind": "bad"}
        )
