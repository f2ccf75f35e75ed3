"""Filing results: a message is read (orders/rules.py), matched to its patient, and its reports and
observations filed, all in one transaction with the message and its ACK kept. A patient is matched
by NHS number, or by hospital number, and only if the family name and date of birth the message
gives agree with the record; otherwise the report waits in the unmatched queue, filed to nobody.
The same message (sender and MSH-10) received again files nothing and is answered as the first was."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.tasks import queue_after_commit
from orders import policy
from orders.models import AckAction, Filing, InboundMessage, Order, ResultObservation, ResultReport
from orders.rules.hl7 import (
    MessageRefused,
    ResultMessage,
    ack,
    critical_reason,
    is_abnormal,
    normalise,
    parse_result_message,
)
from orders.services.requests import order_follow_result
from records.errors import RecordError
from records.models import (
    ACTIVE_ALERT_STATUSES,
    AlertSeverity,
    ClinicalAlert,
    Encounter,
    EncounterStatus,
    Patient,
    PatientStatus,
)
from records.models.entries import history_note
from records.services.alerts import alert_acknowledge, alert_raise


@dataclass(frozen=True)
class Answer:
    code: str  # AA, AE, AR
    ack: str
    reports: int = 0
    repeated: bool = False
    report_ids: tuple[int, ...] = ()


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def match_patient(named: object) -> tuple[Patient | None, str]:
    """The record a result names, or None and why not. A result that describes its patient (HL7 v2)
    must give the family name and date of birth, and they and every number it gives must agree with
    one record; one that names the record itself (a FHIR reference) is matched by that alone."""
    nhs = getattr(named, "nhs_number", "")
    locals_ = [n.upper() for n in getattr(named, "hospital_numbers", ()) if n]
    family, born = getattr(named, "family_name", ""), getattr(named, "date_of_birth", None)
    by_reference = getattr(named, "by_reference", False)
    if not by_reference and (not family or born is None):
        return None, "The result does not give the patient's family name and a readable date of birth."
    candidates = Patient.objects.exclude(status=PatientStatus.MERGED)
    found = candidates.filter(nhs_number=nhs).first() if nhs else None
    if found is None and locals_:
        found = candidates.filter(hospital_number__in=locals_).first()
    if found is None:
        return None, "No record has the NHS number or hospital number the result gives."
    others = candidates.filter(hospital_number__in=locals_).exclude(pk=found.pk) if locals_ else None
    if others is not None and others.exists():
        return None, "The NHS number and the hospital number the result gives belong to different records."
    if family and _fold(family) != _fold(found.family_name):
        return None, f"The family name sent ({family}) is not the record's."
    if born and found.date_of_birth and born != found.date_of_birth:
        return None, "The date of birth sent is not the record's."
    return found, ""


def _lock(sender: str, control_id: str) -> None:
    # Two copies of one message at once: the second waits here, then finds the first filed.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"hl7:{sender}:{control_id}"]
        )


def order_answered(placer: str, filler: str, patient: Patient | None) -> tuple[Order | None, str]:
    """The order a report answers (by our placer number, else the department's filler number), and
    why it cannot be filed when that order is another patient's: a result is never filed to the
    record its order does not belong to, whatever its identifiers say."""
    order = Order.objects.filter(number=placer).first() if placer else None
    if order is None and filler:
        order = Order.objects.filter(filler_number=filler).order_by("-pk").first()
    if order is None:
        return None, ""
    if patient is None or order.patient_id != patient.pk:
        return (
            None,
            f"The result names order {order.number}, which is not the order of the patient it identifies.",
        )
    return order, ""


def _file(parsed: ResultMessage, inbound: InboundMessage, now: datetime) -> int:
    matched, why = match_patient(parsed.patient)
    filed = 0
    for report in parsed.reports:
        order, order_problem = order_answered(report.placer_number, report.filler_number, matched)
        patient = None if order_problem else matched
        if order is not None:
            filing = Filing.FILED
        elif patient is not None:
            filing = Filing.UNSOLICITED
        else:
            filing = Filing.UNMATCHED
        row = ResultReport.objects.create(
            message=inbound,
            patient=patient,
            order=order,
            filing=filing,
            sent_nhs_number=parsed.patient.nhs_number,
            sent_hospital_number=(parsed.patient.hospital_numbers or ("",))[0],
            sent_family_name=parsed.patient.family_name,
            sent_given_name=parsed.patient.given_name,
            sent_date_of_birth=parsed.patient.date_of_birth,
            mismatch=order_problem or why,
            placer_number=report.placer_number,
            filler_number=report.filler_number,
            code=report.code,
            code_system=report.code_system,
            name=report.name[:200],
            status=report.status,
            observed_at=report.observed_at,
            issued_at=report.issued_at,
            notes=report.notes,
            filed_at=now,
        )
        created = bulk_create_with_history(
            [
                ResultObservation(
                    report=row,
                    patient=patient,
                    observed_at=o.observed_at or report.observed_at,
                    **{k: v for k, v in o.__dict__.items() if k != "observed_at"},
                )
                for o in report.observations
            ],
            ResultObservation,
        )
        _supersede(row, created)
        if order is not None:
            order_follow_result(
                order=order, report_status=report.status, filler_number=report.filler_number, now=now
            )
        limits = policy.critical_limits()
        row.abnormal = any(is_abnormal(o.flag) for o in report.observations)
        row.critical = any(
            critical_reason(o.code, o.value_number, o.unit, limits) for o in report.observations
        )
        if row.abnormal or row.critical:
            row.save(update_fields=["abnormal", "critical"])
            if patient is not None:
                queue_after_commit("orders.tasks.raise_result_alert", row.pk)
        audit_record(
            user=None,
            action=Action.CREATE,
            patient_id=patient.pk if patient else None,
            obj=row,
            channel="system",
            detail={"filing": row.filing, "observations": len(report.observations)},
        )
        filed += 1
    return filed


def _supersede(report: ResultReport, created: list[ResultObservation]) -> None:
    """A corrected value (OBX-11 C, or a corrected report) replaces the value of the same test the
    laboratory sent before under the same filler number, for the same patient; both stay."""
    corrected = [o for o in created if o.status == "C" or report.status == "C"]
    if not corrected or not report.filler_number or report.patient_id is None:
        return
    earlier = {
        o.code: o
        for o in ResultObservation.objects.filter(
            report__patient_id=report.patient_id,
            report__filler_number=report.filler_number,
            code__in=[o.code for o in corrected],
            superseded_by__isnull=True,
        )
        .exclude(report=report)
        .order_by("pk")
    }
    for observation in corrected:
        previous = earlier.get(observation.code)
        if previous is not None:
            previous.superseded_by = observation
            history_note(previous, reason="Corrected by the laboratory")
            previous.save(update_fields=["superseded_by"])


def results_receive(text: str, *, channel: str, client: str = "", now: datetime | None = None) -> Answer:
    """Receive one results message and answer it with its ACK; never raises for a bad message."""
    now = now or timezone.now()
    try:
        parsed = parse_result_message(text)
    except MessageRefused as refused:
        header = {"control_id": refused.control_id}
        return Answer(
            refused.code, ack(header, refused.code, str(refused), error_segment=refused.segment, now=now)
        )
    return results_file(parsed, raw=normalise(text), channel=channel, client=client, now=now)


def _after_header(raw: str) -> str:
    # A resend may carry a new MSH-7 (time sent); everything after the header must be the same.
    return raw.split("\r", 1)[1] if "\r" in raw else ""


def results_file(parsed: ResultMessage, *, raw: str, channel: str, client: str = "", now: datetime) -> Answer:
    """File results already read (from HL7 v2, or built from a FHIR DiagnosticReport by the FHIR
    layer): once per sender and control id, matched, alerted, audited, in one transaction."""
    if channel == "http" and client:
        # The authenticated client is part of who sent it: another client cannot send a message under
        # this laboratory's MSH-3/4 and control id first and so have the real one taken for a repeat.
        parsed = replace(parsed, sender=f"{client}|{parsed.sender}"[:200])
    with transaction.atomic():
        _lock(parsed.sender, parsed.control_id)
        first = InboundMessage.objects.filter(sender=parsed.sender, control_id=parsed.control_id).first()
        if first is not None and channel != "fhir" and _after_header(first.raw) != _after_header(raw):
            text = "Not filed: this control id was already used for a different message from this sender."
            return Answer("AR", ack(parsed.header, "AR", text, error_segment="MSH", now=now))
        if first is not None:
            return Answer(
                first.ack_code,
                first.ack_text,
                repeated=True,
                report_ids=tuple(first.reports.order_by("pk").values_list("pk", flat=True)),
            )
        answer_text = ack(parsed.header, "AA", "Filed", now=now)
        try:
            with transaction.atomic():
                inbound = InboundMessage.objects.create(
                    sender=parsed.sender,
                    control_id=parsed.control_id,
                    message_type=parsed.message_type,
                    received_at=now,
                    channel=channel,
                    client=client,
                    raw=raw,
                    ack_code="AA",
                    ack_text=answer_text,
                )
                filed = _file(parsed, inbound, now)
                report_ids = tuple(inbound.reports.order_by("pk").values_list("pk", flat=True))
        except DataError:  # a field longer than the results tables hold: sending it again cannot help
            refusal = ack(
                parsed.header, "AR", "Not filed: a field is longer than this system accepts.", now=now
            )
            return Answer("AR", refusal)
        except IntegrityError as exc:  # a value the database refuses: the sender should fix and resend
            refusal = ack(parsed.header, "AE", f"Not filed: {exc.__class__.__name__}", now=now)
            return Answer("AE", refusal)
    return Answer("AA", answer_text, reports=filed, report_ids=report_ids)


# A preliminary report is replaced by its final one: only final and corrected reports are acknowledged.
ACKNOWLEDGED_STATUSES = ("F", "C")
CRITICAL_KIND = "result_critical"
OVERDUE_KIND = "result_overdue"
ABNORMAL_KIND = "result_abnormal"


def result_alert_raise(*, report_id: int) -> Any:
    """The alert for a filed abnormal or critical result, to the patient's ward and team: urgent at
    once for a critical value. Idempotent by the report (a retried task raises nothing more)."""
    report = ResultReport.objects.select_related("patient").prefetch_related("observations").get(pk=report_id)
    if report.patient_id is None or report.acknowledged_at is not None:
        return None
    patient_id = report.patient_id
    limits = policy.critical_limits()
    reasons = [
        r for o in report.observations.all() if (r := critical_reason(o.code, o.value_number, o.unit, limits))
    ]
    flagged = [
        f"{o.name} {o.comparator}{o.value_text} {o.unit} ({o.flag})".replace("  ", " ")
        for o in report.observations.all()
        if is_abnormal(o.flag)
    ]
    encounter = Encounter.objects.filter(patient=report.patient, status=EncounterStatus.ACTIVE).first()
    if reasons:
        return alert_raise(
            key=f"result:{report.pk}",
            patient_id=patient_id,
            kind=CRITICAL_KIND,
            severity=AlertSeverity.URGENT,
            message=f"Critical result: {'; '.join(reasons)} ({report.name}).",
            encounter=encounter,
        )
    return alert_raise(
        key=f"result:{report.pk}",
        patient_id=patient_id,
        kind=ABNORMAL_KIND,
        severity=AlertSeverity.ALERT,
        message=f"Abnormal result ({report.name}): {'; '.join(flagged)}.",
        encounter=encounter,
    )


@transaction.atomic
def result_acknowledge(*, by: Any, report: ResultReport, action: str, note: str = "") -> ResultReport:
    """Acknowledge a filed result once, with what was done; answers its alert when no other result
    of the patient still waits."""
    if action not in AckAction.values:
        raise RecordError("Choose what was done about the result.", field="action")
    locked = (
        ResultReport.objects.select_for_update(of=("self",))
        .select_related("acknowledged_by")
        .get(pk=report.pk)
    )
    if locked.patient_id is None:
        raise RecordError("This result is not filed to a patient yet.")
    if locked.acknowledged_at is not None:
        who = locked.acknowledged_by.get_full_name() if locked.acknowledged_by else "someone"
        when = timezone.localtime(locked.acknowledged_at)
        raise RecordError(f"This result was already acknowledged by {who} at {when:%H:%M on %d-%b-%Y}.")
    locked.acknowledged_by, locked.acknowledged_at = by, timezone.now()
    locked.ack_action, locked.ack_note = action, note.strip()
    locked.save()
    audit_record(
        user=by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"acknowledged": action},
    )
    waiting = ResultReport.objects.filter(
        patient_id=locked.patient_id, acknowledged_at__isnull=True, status__in=ACKNOWLEDGED_STATUSES
    ).filter(Q(critical=True) | Q(abnormal=True))
    for kind, still in (
        (CRITICAL_KIND, waiting.filter(critical=True)),
        (ABNORMAL_KIND, waiting.filter(critical=False)),
        (OVERDUE_KIND, waiting),
    ):
        if still.exists():
            continue
        alert = ClinicalAlert.objects.filter(
            patient_id=locked.patient_id, kind=kind, status__in=ACTIVE_ALERT_STATUSES
        ).first()
        if alert is not None:
            alert_acknowledge(alert=alert, user=by, note=f"Result acknowledged: {AckAction(action).label}")
    return locked


@transaction.atomic
def unmatched_file(*, by: Any, report: ResultReport, hospital_number: str) -> ResultReport:
    """File a report from the unmatched queue to the patient a person chose (by hospital number)."""
    locked = ResultReport.objects.select_for_update().get(pk=report.pk)
    if locked.filing != Filing.UNMATCHED:
        raise RecordError("This result is no longer waiting in the unmatched queue.")
    patient = (
        Patient.objects.exclude(status=PatientStatus.MERGED)
        .filter(hospital_number=hospital_number.strip().upper())
        .first()
    )
    if patient is None:
        raise RecordError(
            f"No patient has hospital number {hospital_number.strip()}.", field="hospital_number"
        )
    order, _ = order_answered(locked.placer_number, locked.filler_number, patient)
    locked.patient, locked.order = patient, order
    locked.filing = Filing.FILED if order is not None else Filing.UNSOLICITED
    locked.save(update_fields=["patient", "order", "filing"])
    observations = list(locked.observations.all())
    for observation in observations:
        observation.patient = patient
        history_note(observation, reason="Filed from the unmatched queue")
        observation.save(update_fields=["patient"])
    _supersede(locked, observations)
    if order is not None:
        order_follow_result(
            order=order, report_status=locked.status, filler_number=locked.filler_number, now=timezone.now()
        )
    audit_record(
        user=by,
        action=Action.UPDATE,
        patient_id=patient.pk,
        obj=locked,
        detail={"filed_from_unmatched": True},
    )
    if locked.abnormal or locked.critical:
        queue_after_commit("orders.tasks.raise_result_alert", locked.pk)
    return locked


@transaction.atomic
def unmatched_reject(*, by: Any, report: ResultReport, reason: str) -> ResultReport:
    """Reject a report from the unmatched queue (not this trust's patient, a test message...)."""
    reason = " ".join(reason.split())
    if not reason:
        raise RecordError("Give the reason the result is rejected.", field="reason")
    locked = ResultReport.objects.select_for_update().get(pk=report.pk)
    if locked.filing != Filing.UNMATCHED:
        raise RecordError("This result is no longer waiting in the unmatched queue.")
    locked.filing = Filing.REJECTED
    locked.mismatch = f"{locked.mismatch} Rejected: {reason}".strip()
    locked.save(update_fields=["filing", "mismatch"])
    audit_record(user=by, action=Action.UPDATE, patient_id=None, obj=locked, detail={"rejected": reason})
    return locked


def escalate_unacknowledged(now: datetime | None = None) -> int:
    """An abnormal or critical result still unacknowledged after EPR_RESULT_ACK_HOURS raises an
    alert to the patient's team (the consultant's), once per result. Returns the alerts raised."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=policy.acknowledgement_hours())
    waiting = (
        ResultReport.objects.filter(
            filing__in=[Filing.FILED, Filing.UNSOLICITED],
            status__in=ACKNOWLEDGED_STATUSES,
            acknowledged_at__isnull=True,
            filed_at__lt=cutoff,
            patient__isnull=False,
        )
        .filter(Q(abnormal=True) | Q(critical=True))
        .select_related("patient")
    )
    raised = 0
    for report in waiting:
        patient_id = report.patient_id or 0  # the query kept only reports filed to a patient
        encounter = (
            Encounter.objects.filter(patient_id=patient_id, status=EncounterStatus.ACTIVE)
            .select_related("consultant")
            .first()
        )
        consultant = f" for {encounter.consultant.get_full_name()}'s team" if encounter else ""
        hours = int((now - report.filed_at).total_seconds() // 3600)
        with transaction.atomic():
            if alert_raise(
                key=f"result-overdue:{report.pk}",
                patient_id=patient_id,
                kind=OVERDUE_KIND,
                severity=AlertSeverity.URGENT if report.critical else AlertSeverity.ALERT,
                message=f"{report.name} ({'critical' if report.critical else 'abnormal'}) not acknowledged "
                f"after {hours} hours{consultant}.",
                encounter=encounter,
            ):
                raised += 1
    return raised
