"""What the shared screens and the FHIR API show, pinned while the code behind them moves into plug-in
registries (issue 8): the CapabilityStatement, each role's menu and landing page, and the patient page's
sections and banner. A snapshot changes only by deliberate edit (run with EPR_UPDATE_SNAPSHOTS=1 and
read the diff)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import reverse

from epr.fhir.registry import fhir_scopes
from records.models import Patient
from records.registries import patient_page
from records.registries.subject_access import exported_models, not_exported
from tests.support import login

pytestmark = pytest.mark.django_db
SNAPSHOTS = Path(__file__).parent / "snapshots"


def _matches_snapshot(name: str, value) -> None:
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("EPR_UPDATE_SNAPSHOTS"):
        path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
    assert value == json.loads(path.read_text())


def _links(html: str, container: str) -> list[list[str]]:
    """(text, href) of each link inside the first element whose class names `container`."""
    start = html.index(f'class="{container}')
    end = html.index("</nav>", start)
    return [
        [re.sub(r"<[^>]+>|\s+", " ", text).strip(), href]
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html[start:end], re.S)
    ]


def _stable(text: str, patient) -> str:
    """The text without what the factory varies between runs: hospital number, birth date, age, sex."""
    text = text.replace(patient.hospital_number, "<hospital number>")
    text = re.sub(r"Sex (Male|Female)", "Sex <sex>", text)
    return re.sub(r"Born \S+ \(\d+y\)", "Born <date> (<age>)", text)


def test_the_capability_statement(client):
    statement = client.get("/fhir/metadata").json()
    statement.pop("date")
    _matches_snapshot("capability_statement", statement)


def test_each_roles_menu_and_landing_page(client, users, admitted):
    seen = {}
    for role, user in sorted(users.items()):
        login(client, user)
        landing = client.get(reverse("home"))
        page = client.get(landing["Location"], follow=True)
        html = page.content.decode()
        # Paths with the patient's id stand for the same link in every run.
        seen[role] = {
            "lands_on": landing["Location"],
            "menu": [[text, href] for text, href in _links(html, "nhsuk-header__navigation")],
        }
        client.logout()
    _matches_snapshot("menus", seen)


def test_the_patient_page_sections_and_banner(client, users, admitted):
    seen = {}
    for role in ("nurse", "doctor", "clerk", "manager"):
        login(client, users[role])
        html = client.get(reverse("records:patient_detail", args=[admitted.patient_id])).content.decode()
        sections = _links(html, "epr-subnav")
        banner_start = html.index(">", html.index('data-testid="patient-banner"')) + 1
        banner = re.sub(r"<[^>]+>", " ", html[banner_start : html.index("</section>", banner_start)])
        seen[role] = {
            "sections": [[text, href.replace(str(admitted.patient_id), "<id>")] for text, href in sections],
            "banner": _stable(re.sub(r"\s+", " ", banner).strip(), admitted.patient),
        }
        client.logout()
    _matches_snapshot("patient_page", seen)


def test_the_oauth_scopes_are_built_from_the_fhir_resources():

    _matches_snapshot("oauth_scopes", fhir_scopes())


def test_every_patient_linked_model_is_exported_or_listed_as_not_exported():
    """A model holding a patient's data that no subject-access section exports, and that is not listed
    as deliberately left out, would be silently missing from what the patient is sent."""

    def linked_to_patient(model) -> bool:
        return any(
            f.many_to_one and f.concrete and f.related_model is Patient for f in model._meta.get_fields()
        )

    def is_history(model) -> bool:  # django-simple-history's versions of a model that is covered
        return model.__name__.startswith("Historical") and hasattr(model, "instance_type")

    covered = exported_models() | set(not_exported())
    missing = [
        model._meta.label
        for model in apps.get_models()
        if linked_to_patient(model) and not is_history(model) and model not in covered
    ]
    assert missing == []
    assert all(not_exported().values()), "each exclusion says why"


@pytest.mark.parametrize(
    ("who", "page", "current"),
    [
        ("nurse", "records:patient_detail", "Summary"),
        ("nurse", "records:observations_record", "Observations"),
        ("nurse", "records:allergy_new", "Allergies"),
        ("nurse", "records:patient_demographics", "Details"),
        ("clerk", "records:patient_detail", "Details"),
    ],
)
def test_the_section_being_looked_at_is_marked(client, users, admitted, who, page, current):
    html = login(client, users[who]).get(reverse(page, args=[admitted.patient_id])).content.decode()
    nav = html[html.index('class="epr-subnav') : html.index("</nav>", html.index('class="epr-subnav'))]
    assert re.findall(r'aria-current="page">([^<]+)<', nav) == [current]


def test_another_app_can_add_an_item_to_the_banner(client, users, admitted):
    """What mentalhealth will do for a legal status: an item shown only where there is one."""

    item = patient_page.BannerItem(
        key="test-item",
        template="includes/error_home_link.html",
        order=10,
        shown_for=lambda opened: opened.patient.pk == admitted.patient_id,
    )
    patient_page.register_banner_item(item)
    try:
        login(client, users["nurse"])
        html = client.get(reverse("records:patient_detail", args=[admitted.patient_id])).content.decode()
        clinical_row = html[html.index('data-testid="banner-clinical"') :]
        assert "Go to the home page" in clinical_row[: clinical_row.index("</div>")]
    finally:
        patient_page._banner_items.pop("test-item")
