"""A patient's allergies, problems and care plans as their pages list them, entries in error last, and the
care plans overdue for review that a user is responsible for."""

from __future__ import annotations

from django.db.models import Case, Exists, OuterRef, Prefetch, Q, Value, When
from django.utils import timezone

from records.models import (
    AllergyIntolerance,
    CarePlan,
    CarePlanReview,
    CarePlanStatus,
    EntryStatus,
    Patient,
    Problem,
    Team,
    WardStay,
)
from records.selectors.patients import cared_for_by


def _entered_in_error_last() -> Case:
    return Case(When(status=EntryStatus.ENTERED_IN_ERROR, then=Value(1)), default=Value(0))


def allergies_of(patient: Patient) -> list[AllergyIntolerance]:
    """Every allergy entry, entered-in-error ones included (shown struck through)."""
    return list(
        AllergyIntolerance.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by(_entered_in_error_last(), "-recorded_at")
    )


def problems_of(patient: Patient) -> list[Problem]:
    return list(
        Problem.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by(_entered_in_error_last(), "clinical_status", "-onset_date", "-pk")
    )


def careplans_of(patient: Patient) -> list[CarePlan]:
    return list(
        CarePlan.objects.filter(patient=patient)
        .select_related("responsible", "team", "problem", "created_by")
        .prefetch_related(Prefetch("reviews", queryset=CarePlanReview.objects.select_related("reviewed_by")))
        .order_by("status", "review_date")
    )


def overdue_careplans_for(user) -> list[CarePlan]:
    """Active plans past their review date that the user's team or ward is looking after."""
    on_users_ward = WardStay.objects.filter(
        encounter__patient=OuterRef("patient"), ended_at__isnull=True, ward__staff_group__user=user
    )
    team_member = Team.objects.filter(pk=OuterRef("team"), staff_group__user=user)
    return list(
        CarePlan.objects.filter(status=CarePlanStatus.ACTIVE, review_date__lt=timezone.localdate())
        .filter(Q(responsible=user) | Exists(team_member) | Exists(on_users_ward))
        .filter(cared_for_by(user))
        .select_related("patient", "responsible", "team")
        .order_by("review_date")
    )
