"""Typed factories for tests and benchmarks. NHS numbers come from the 999 test range."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from epr.accounts.models import User
from epr.accounts.roles import Role, group_name
from records.models import Bay, Bed, Patient, Site, Specialty, Team, Ward
from records.rules import patients as rules


def valid_nhs_number(n: int) -> str:
    """The n-th valid NHS number in the reserved 999 range (skipping check value 10)."""
    base = 999_100_000 + n * 3
    while True:
        first_nine = f"{base:09d}"[-9:]
        check = rules.nhs_number_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"
        base += 1


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    role = Role.NURSE
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def role_group(self, create: bool, extracted, **kwargs) -> None:
        if create and self.role:
            self.groups.add(Group.objects.get_or_create(name=group_name(self.role))[0])


class SiteFactory(DjangoModelFactory[Site]):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"RXX{n:02d}")
    name = factory.Sequence(lambda n: f"Hospital {n}")


class WardFactory(DjangoModelFactory[Ward]):
    class Meta:
        model = Ward

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"W{n:03d}")
    name = factory.Sequence(lambda n: f"Ward {n}")
    staff_group = factory.LazyAttribute(lambda o: Group.objects.create(name=f"ward:{o.code}"))


class BayFactory(DjangoModelFactory[Bay]):
    class Meta:
        model = Bay

    ward = factory.SubFactory(WardFactory)
    name = factory.Sequence(lambda n: f"Bay {n}")


class BedFactory(DjangoModelFactory[Bed]):
    class Meta:
        model = Bed

    bay = factory.SubFactory(BayFactory)
    ward = factory.SelfAttribute("bay.ward")
    # Above the labels fixtures give by hand ("1", "2"), so a factory bed never takes one of theirs.
    label = factory.Sequence(lambda n: str(n + 100))


class TeamFactory(DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    specialty = Specialty.GENERAL_MEDICINE
    consultant = factory.SubFactory(UserFactory, role=Role.DOCTOR)
    staff_group = factory.LazyAttribute(lambda o: Group.objects.create(name=f"team:{o.name}"))


class PatientFactory(DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    nhs_number = factory.Sequence(valid_nhs_number)
    nhs_number_status = "01"
    hospital_number = factory.Sequence(lambda n: f"T{n:07d}")
    family_name = factory.Faker("last_name", locale="en_GB")
    given_names = factory.Faker("first_name", locale="en_GB")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=95)
    sex = factory.Iterator(["male", "female"])
    postcode = factory.Faker("postcode", locale="en_GB")
    created_at = factory.LazyFunction(timezone.now)
