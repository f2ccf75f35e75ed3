from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from records.models import Bay, Bed, Site, Team, Ward


@transaction.atomic
def site_create(*, code: str, name: str) -> Site:
    return Site.objects.create(code=code, name=name)


@transaction.atomic
def ward_create(*, site: Site, code: str, name: str, bays: dict[str, list[str]] | None = None) -> Ward:
    """A ward with its staff group and, optionally, bays of beds: {"Bay A": ["1", "2"]}."""
    group = Group.objects.create(name=f"ward:{code}")
    ward = Ward.objects.create(site=site, code=code, name=name, staff_group=group)
    for bay_name, labels in (bays or {}).items():
        bay = Bay.objects.create(ward=ward, name=bay_name)
        Bed.objects.bulk_create([Bed(ward=ward, bay=bay, label=label) for label in labels])
    return ward


@transaction.atomic
def ward_add_staff(*, ward: Ward, users) -> None:
    ward.staff_group.user_set.add(*users)


@transaction.atomic
def team_create(*, name: str, specialty: str, consultant, members=()) -> Team:
    group = Group.objects.create(name=f"team:{name}")
    group.user_set.add(consultant, *members)
    return Team.objects.create(name=name, specialty=specialty, consultant=consultant, staff_group=group)
