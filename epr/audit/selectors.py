from collections.abc import Iterable

from django.db.models import QuerySet

from epr.audit.models import AuditEvent


def audit_events_for_patients(patient_ids: Iterable[int]) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient_id__in=list(patient_ids)).order_by("-at", "-id")
