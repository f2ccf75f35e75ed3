"""Reads of referrals: the triage queue (two-week waits first, then urgent, then the oldest), one
patient's referrals, and one referral with its attachments (without their content), waiting-list
entries and clock events; each in a fixed number of queries."""

from __future__ import annotations

from collections import Counter

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from records.models import Patient, Team
from scheduling.models import (
    ClockEvent,
    Referral,
    ReferralAttachment,
    ReferralPriority,
    ReferralStatus,
    WaitingListEntry,
)

PRIORITY_RANK = Case(
    When(priority=ReferralPriority.TWO_WEEK_WAIT, then=Value(0)),
    When(priority=ReferralPriority.URGENT, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def triage_queue(specialty: str = "") -> QuerySet[Referral]:
    """Incoming referrals waiting for triage, in the order to triage them."""
    queue = Referral.objects.filter(status=ReferralStatus.RECEIVED, direction="in")
    if specialty:
        queue = queue.filter(specialty=specialty)
    return (
        queue.select_related("patient", "team")
        .annotate(rank=PRIORITY_RANK)
        .order_by("rank", "received_on", "pk")
    )


def triage_counts() -> dict[str, int]:
    """Referrals waiting for triage by specialty code: one query."""
    rows = Referral.objects.filter(status=ReferralStatus.RECEIVED, direction="in").values_list(
        "specialty", flat=True
    )
    return dict(Counter(rows))


def triage_waiting_count() -> int:
    return Referral.objects.filter(status=ReferralStatus.RECEIVED, direction="in").count()


def patient_referrals(patient: Patient) -> QuerySet[Referral]:
    return (
        Referral.objects.filter(patient=patient)
        .select_related("team", "registered_by", "triaged_by")
        .order_by("-received_on", "-pk")
    )


def attachments_without_content() -> QuerySet[ReferralAttachment]:
    return ReferralAttachment.objects.defer("content").select_related("added_by").order_by("pk")


def attachment_content(attachment_id: int) -> ReferralAttachment:
    return ReferralAttachment.objects.get(pk=attachment_id)


def referral_detail(referral_id: int) -> Referral:
    """One referral with what its page shows; raises Referral.DoesNotExist."""
    entries = WaitingListEntry.objects.order_by("pk").prefetch_related(
        Prefetch(
            "clock_events", queryset=ClockEvent.objects.select_related("recorded_by").order_by("on", "pk")
        )
    )
    return (
        Referral.objects.select_related("patient", "team", "registered_by", "triaged_by")
        .prefetch_related(
            Prefetch("attachments", queryset=attachments_without_content()),
            Prefetch("waiting", queryset=entries),
        )
        .get(pk=referral_id)
    )


def teams_to_choose() -> QuerySet[Team]:
    return Team.objects.order_by("name")
