"""Who may do what with medicines (a role x action matrix, every role on the patient's ward or team so
only the role decides): only prescribers prescribe, stop and review antimicrobials, only pharmacists
verify, nurses and doctors give (healthcare assistants do not unless policy allows), clerks and
managers see no medicines. Every refusal leaves the database as it was."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from epr.accounts.roles import Role
from prescribing.models import Administration, AntimicrobialReview, PharmacyReview, Prescription
from records import services as records
from tests.factories import UserFactory
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of
from tests.support import signed_in

ROLES = ("doctor", "nurse", "hca", "pharmacist", "pharmtech", "clerk", "manager")
ALLOWED = {
    "chart": {"doctor", "nurse", "pharmacist", "pharmtech"},
    "prescribe": {"doctor"},
    "stop": {"doctor"},
    "verify": {"pharmacist"},
    "give": {"doctor", "nurse"},
    "review-antimicrobial": {"doctor"},
}


@pytest.fixture
def staff(ward, doctor, nurse, colleague, clerk, manager):
    pharmacist = UserFactory(role=Role.PHARMACIST)
    pharmtech = UserFactory(role=Role.PHARMACY_TECHNICIAN)
    records.ward_add_staff(ward=ward, users=[pharmacist, pharmtech])
    return {
        "doctor": doctor,
        "nurse": nurse,
        "hca": colleague,
        "pharmacist": pharmacist,
        "pharmtech": pharmtech,
        "clerk": clerk,
        "manager": manager,
    }


@pytest.fixture
def rx(admitted, doctor):
    vmp = product("Doxycycline 100mg capsules", "Doxycycline")
    vmp.bnf_code, vmp.route_names = "5.1.3", ["Oral"]
    vmp.save()
    hour = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    return prescribe(
        doctor,
        admitted.patient,
        vmp,
        dose_value=Decimal("100"),
        times_of_day=[f"{hour:%H}:00"],
        indication="Cellulitis",
        starts_at=hour - timedelta(days=3),
    )


def state() -> tuple:
    return (
        list(Prescription.objects.order_by("pk").values_list("pk", "status", "verification", "version")),
        Administration.objects.count(),
        PharmacyReview.objects.count(),
        AntimicrobialReview.objects.count(),
    )


def attempt(action: str, client, rx) -> int:
    patient = rx.patient_id
    due = timezone.localtime().replace(minute=0, second=0, microsecond=0).isoformat()
    if action == "chart":
        return client.get(reverse("prescribing:drug_chart", args=[patient])).status_code
    if action == "prescribe":
        other = product("Paracetamol 500mg tablets", "Paracetamol")
        other.route_names = ["Oral"]
        other.save()
        url = reverse("prescribing:prescribe", args=[patient, other.pk])
        posted = {
            "kind": "once",
            "dose_value": "1000",
            "dose_unit": "mg",
            "route": "Oral",
            "setting": "inpatient",
        }
        return client.post(url, posted).status_code
    if action == "stop":
        url = reverse("prescribing:prescription_stop", args=[patient, rx.pk])
        return client.post(url, {"reason": "Course complete", "version": rx.version}).status_code
    if action == "verify":
        url = reverse("prescribing:prescription_review", args=[patient, rx.pk])
        return client.post(url, {"action": "verified", "version": rx.version}).status_code
    if action == "give":
        url = reverse("prescribing:administer", args=[patient, rx.pk]) + "?" + urlencode({"due": due})
        return client.post(
            url, {"wristband": rx.patient.nhs_number, "pack": scan_of(pack(rx.vmp, 41)), "submission": "m1"}
        ).status_code
    url = reverse("prescribing:antimicrobial_review", args=[patient, rx.pk])
    return client.post(url, {"decision": "stop", "version": rx.version}).status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_only_the_roles_that_may_do_it_can(staff, rx, role, action):
    before = state()
    status = attempt(action, signed_in(staff[role]), rx)
    if role in ALLOWED[action]:
        assert status in (200, 302), (role, action, status)
        if action != "chart":
            assert state() != before, f"{role} {action}: allowed, yet nothing changed"
    else:
        assert status == 403, (role, action, status)
        assert state() == before, f"{role} {action}: refused, yet something changed"
