"""Named staff with clear roles, as in every test: the treating nurse, a colleague on the same ward,
an outside clinician, a clerk, a manager and an administrator."""

from __future__ import annotations

import pytest

from epr.accounts import tokens
from epr.accounts.roles import Role
from records import services
from tests.factories import BedFactory, PatientFactory, UserFactory, WardFactory


@pytest.fixture
def ward(db):
    return WardFactory(name="Ward 7", code="W7")


@pytest.fixture
def other_ward(db):
    return WardFactory(name="Ward 9", code="W9")


@pytest.fixture
def bed(ward):
    return BedFactory(bay__ward=ward, bay__name="Bay A", label="1")


@pytest.fixture
def second_bed(bed):
    return BedFactory(bay=bed.bay, label="2")


@pytest.fixture
def other_bed(other_ward):
    return BedFactory(bay__ward=other_ward, bay__name="Bay B", label="1")


def _staff(username: str, role: str, wards=()):
    user = UserFactory(username=username, role=role)
    for w in wards:
        services.ward_add_staff(ward=w, users=[user])
    return user


@pytest.fixture
def nurse(ward):
    """Alice, the treating nurse on Ward 7."""
    return _staff("alice", Role.NURSE, [ward])


@pytest.fixture
def colleague(ward):
    """Bob, a healthcare assistant on the same ward."""
    return _staff("bob", Role.HCA, [ward])


@pytest.fixture
def outsider(other_ward):
    """Charlie, a nurse on another ward, with no care relationship."""
    return _staff("charlie", Role.NURSE, [other_ward])


@pytest.fixture
def doctor(db):
    return _staff("drdee", Role.DOCTOR)


@pytest.fixture
def pharmacist(db):
    return _staff("phil", Role.PHARMACIST)


@pytest.fixture
def clerk(db):
    return _staff("clara", Role.WARD_CLERK)


@pytest.fixture
def manager(db):
    return _staff("mona", Role.MANAGER)


@pytest.fixture
def admin_user(db):
    return _staff("ada", Role.ADMIN)


@pytest.fixture
def team(doctor):
    return services.team_create(name="Dr Dee's firm", specialty="300", consultant=doctor)


@pytest.fixture
def patient(db):
    return PatientFactory(family_name="Smith", given_names="John", nhs_number="9990000018")


@pytest.fixture
def admitted(patient, ward, bed, doctor, team, clerk):
    """The patient admitted to Ward 7, Bay A bed 1, under Dr Dee's team."""
    return services.encounter_admit(
        admitted_by=clerk,
        patient=patient,
        ward=ward,
        bed=bed,
        consultant=doctor,
        team=team,
        specialty="300",
        admission_method="21",
    )


@pytest.fixture
def users(nurse, colleague, outsider, doctor, pharmacist, clerk, manager, admin_user):
    return {
        "nurse": nurse,
        "hca": colleague,
        "outsider": outsider,
        "doctor": doctor,
        "pharmacist": pharmacist,
        "clerk": clerk,
        "manager": manager,
        "admin": admin_user,
    }


@pytest.fixture(autouse=True)
def _forget_cached_tokens():
    """Each test starts with no bearer token remembered by the worker (epr/accounts/tokens.py): a test
    that changes a token's row without its signals (a rollback, an update()) must not leak into the next."""
    tokens.forget_all_tokens()
    yield
    tokens.forget_all_tokens()
