"""Patient identity: possible duplicates, who holds an NHS number, merges and links, and the side-by-side
comparison a merge is confirmed from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from records.models import (
    Patient,
    PatientLink,
    PatientMerge,
    PatientStatus,
)
from records.rules import patients as rules
from records.selectors.patients import FieldComparison, demographic_label, demographic_value


def merges_involving(patient: Patient) -> list[PatientMerge]:
    return list(
        PatientMerge.objects.filter(Q(survivor=patient) | Q(duplicate=patient)).select_related(
            "survivor", "duplicate", "merged_by", "unmerged_by"
        )
    )


def links_of(patient: Patient) -> list[Patient]:
    links = PatientLink.objects.filter(Q(first=patient) | Q(second=patient)).select_related("first", "second")
    return [link.second if link.first_id == patient.pk else link.first for link in links]


def possible_duplicates(
    *,
    family_name: str,
    given_names: str = "",
    date_of_birth: date | None = None,
    sex: str = "",
    postcode: str = "",
    limit: int = 10,
) -> list[Patient]:
    """Active records that may be the same person as a registration: the same family name and first
    given name, with the same date of birth and sex, or the same postcode. One query."""
    family = rules.search_key(family_name)
    if not family:
        return []
    queryset = Patient.objects.filter(status=PatientStatus.ACTIVE, family_name_key=family)
    first_given = next(iter(rules.search_key(given_names).split()), "")
    if first_given:
        # "Grace" matches "Grace Ann": the first given name is what people reliably give.
        queryset = queryset.filter(
            Q(given_names_key=first_given) | Q(given_names_key__startswith=f"{first_given} ")
        )
    same_person = Q(pk__in=[])
    if date_of_birth and sex:
        same_person |= Q(date_of_birth=date_of_birth, sex=sex)
    tidy_postcode = " ".join((postcode or "").upper().split())
    if tidy_postcode:
        same_person |= Q(postcode=tidy_postcode)
    return list(queryset.filter(same_person).order_by("family_name_key", "given_names_key", "pk")[:limit])


def active_holder_of_nhs_number(nhs_number: str, *, exclude_id: int | None = None) -> Patient | None:
    """The active record that already has this NHS number, if any (the one a clash refers to)."""
    digits = rules.normalise_nhs_number(nhs_number)
    if not digits:
        return None
    queryset = Patient.objects.filter(nhs_number=digits, status=PatientStatus.ACTIVE)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset.first()


def compare_demographics(left: Patient, right: Patient, fields: tuple[str, ...]) -> list[FieldComparison]:
    return [
        FieldComparison(demographic_label(f), demographic_value(left, f), demographic_value(right, f))
        for f in fields
    ]


@dataclass(frozen=True)
class MovedKind:
    label: str
    count: int


def merge_moved_counts(merge: PatientMerge) -> list[MovedKind]:
    """What a merge moved, counted by kind of entry (from the ids listed on the merge record)."""
    from django.apps import apps

    counts: dict[str, int] = {}
    for key, ids in (merge.moved_rows or {}).items():
        label = key.rsplit(":", 1)[0]
        try:
            name = str(apps.get_model(label)._meta.verbose_name_plural)
        except LookupError:  # a model removed since the merge: still count its rows
            name = label
        counts[name] = counts.get(name, 0) + len(ids)
    return [MovedKind(label=name[:1].upper() + name[1:], count=n) for name, n in sorted(counts.items())]
