"""Orders out to the department systems. Each placed or cancelled order has its HL7 v2 message
built and kept (OutboundMessage) in the transaction that placed it, then sent by a Celery task after
commit through the configured transport: a folder outbox by default (EPR_ORDERS_OUTBOX), or MLLP to
EPR_ORDERS_MLLP ("host:port"), whose ACK is stored. A send that fails stays queued as failed, is
shown on the ward, and is tried again by the task's retries and by a beat task; a message is never
dropped. Messages of one order go in order: a cancellation waits for its new-order message."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from epr.tasks import queue_after_commit, queue_now
from orders.models import Order, OrderStatus, OutboundMessage, SendState
from orders.rules import outbound
from records.selectors.patients import current_stay

SEND_TASK = "orders.tasks.send_order_message"
MLLP_START, MLLP_END = b"\x0b", b"\x1c\x0d"


class SendFailed(Exception):
    """The department system could not be reached or did not take the message; try again."""


def _facts(order: Order, event: str, control_id: str) -> outbound.OrderFacts:
    patient, test, requester = order.patient, order.test, order.requested_by
    stay = current_stay(patient)
    answers = order.answers or {}
    questions = {q.key: q.text for q in test.questions.all()} if answers else {}
    return outbound.OrderFacts(
        event=event,
        control_id=control_id,
        laboratory=test.is_laboratory,
        placer_number=order.number,
        filler_number=order.filler_number,
        test_code=test.code,
        test_name=test.name,
        loinc_code=test.loinc_code,
        priority=order.priority,
        requested_at=order.requested_at,
        requested_for=order.requested_for,
        clinical_details=order.clinical_details,
        notes=order.notes,
        specimen_type=test.specimen_type,
        specimen_snomed=test.specimen_snomed,
        requester_id=getattr(requester, "professional_registration", "") or requester.get_username(),
        requester_family=getattr(requester, "last_name", ""),
        requester_given=getattr(requester, "first_name", ""),
        nhs_number=patient.nhs_number,
        hospital_number=patient.hospital_number,
        family_name=patient.family_name,
        given_name=patient.given_names.split(" ")[0] if patient.given_names else "",
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        ward_code=stay.ward.code if stay else "",
        bed=stay.bed.label if stay and stay.bed else "",
        answers=tuple((k, questions.get(k, k), v) for k, v in answers.items()),
        cancel_reason=order.cancel_reason,
        sending_facility=settings.EPR_ORGANISATION_ODS,
    )


def message_queue(*, order: Order, event: str, now: datetime) -> OutboundMessage:
    """Build and keep the message in the caller's transaction; send it after commit."""
    # HL7 v2.4 allows MSH-10 20 characters: the order number, the event and a random tail.
    control_id = f"{order.number}{event}{secrets.token_hex(3).upper()}"
    message = OutboundMessage.objects.create(
        order=order,
        event=event,
        control_id=control_id,
        message_type=outbound.message_type(order.test.is_laboratory),
        raw=outbound.order_message(_facts(order, event, control_id), now=now),
        created_at=now,
    )
    Order.objects.filter(pk=order.pk).update(send_state=SendState.QUEUED)
    queue_after_commit(SEND_TASK, message.pk)
    return message


def _write_to_outbox(message: OutboundMessage) -> str:
    folder = Path(settings.EPR_ORDERS_OUTBOX)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{message.control_id}.hl7"
    partial = folder / f".{message.control_id}.part"
    # Written then renamed, so a department reader never picks up half a message.
    with partial.open("w", encoding="utf-8", newline="") as handle:
        handle.write(message.raw)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(final)
    return ""


def _send_mllp(message: OutboundMessage, address: str) -> str:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")  # an IPv6 address is written [::1]:2575
    try:
        with socket.create_connection((host, int(port)), timeout=settings.EPR_ORDERS_MLLP_TIMEOUT) as sock:
            sock.sendall(MLLP_START + message.raw.encode("utf-8") + MLLP_END)
            answer = b""
            while not answer.endswith(MLLP_END):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
    except (OSError, ValueError) as exc:
        raise SendFailed(f"Could not reach the department system at {address}: {exc}") from exc
    if not answer.endswith(MLLP_END):
        raise SendFailed("The department system closed the connection before it acknowledged.")
    return answer.strip(MLLP_START + MLLP_END + b"\r\n").decode("utf-8", "replace")


def _transport() -> str:
    return "mllp" if getattr(settings, "EPR_ORDERS_MLLP", "") else "folder"


def message_send(*, message_id: int) -> str:
    """Send one message (the task calls this); returns its state. Raises SendFailed, after the
    failure is recorded and committed, for the task to retry."""
    with transaction.atomic():
        state, error = _attempt(message_id)
    if error:
        raise SendFailed(error)
    return state


def _attempt(message_id: int) -> tuple[str, str]:
    message = OutboundMessage.objects.select_for_update().select_related("order").get(pk=message_id)
    if message.state in (SendState.SENT, SendState.REJECTED):
        return message.state, ""  # sent already: a retried task sends nothing twice
    earlier_unsent = (
        OutboundMessage.objects.filter(order_id=message.order_id, pk__lt=message.pk)
        .exclude(state__in=(SendState.SENT, SendState.REJECTED))
        .exists()
    )
    if earlier_unsent:
        return message.state, "An earlier message of this order is not sent yet."
    now = timezone.now()
    message.attempts += 1
    message.last_attempt_at = now
    message.transport = _transport()
    try:
        ack = (
            _send_mllp(message, settings.EPR_ORDERS_MLLP)
            if message.transport == "mllp"
            else _write_to_outbox(message)
        )
    except (SendFailed, OSError) as exc:
        _failed(message, str(exc))
        return message.state, str(exc)
    if message.transport == "mllp" and not ack.strip():
        why = "The department system answered with an empty message, not an acknowledgement."
        _failed(message, why)
        return message.state, why
    code, text = outbound.ack_code(ack) if ack else ("", "")
    if ack and code not in ("AA", "CA"):
        if code in ("AR", "CR"):
            _rejected(message, ack, code, text)
            return message.state, ""
        why = f"The department system answered {code or 'without an MSA segment'}: {text}".rstrip(": ")
        _failed(message, why, ack=ack)
        return message.state, why
    message.state = SendState.SENT
    message.sent_at = now
    message.ack_code, message.ack_raw, message.last_error = code, ack, ""
    message.save()
    _order_after_send(message.order, now)
    return message.state, ""


def _failed(message: OutboundMessage, why: str, *, ack: str = "") -> None:
    message.state = SendState.FAILED
    message.last_error = why[:2000]
    if ack:
        message.ack_raw = ack
        message.ack_code = outbound.ack_code(ack)[0]
    message.save()
    Order.objects.filter(pk=message.order_id).update(send_state=SendState.FAILED)


def _rejected(message: OutboundMessage, ack: str, code: str, text: str) -> None:
    # Refused as it stands: sending it again would be refused again. The ward sees it and calls.
    message.state = SendState.REJECTED
    message.ack_code, message.ack_raw = code, ack
    message.last_error = text or "The department system refused the message."
    message.save()
    Order.objects.filter(pk=message.order_id).update(send_state=SendState.REJECTED)


def _order_after_send(order: Order, now: datetime) -> None:
    unsent = OutboundMessage.objects.filter(order_id=order.pk).exclude(state=SendState.SENT).exists()
    order = Order.objects.select_for_update().get(pk=order.pk)
    # Sent only when every message of the order is: a cancellation still waiting keeps it queued.
    if not unsent:
        order.send_state = SendState.SENT
    elif order.send_state != SendState.FAILED:
        order.send_state = SendState.QUEUED
    fields = ["send_state"]
    if not unsent and order.status == OrderStatus.PLACED:
        order.status = OrderStatus.SENT
        order.status_changed_at = now
        fields += ["status", "status_changed_at"]
    order.save(update_fields=fields)


def messages_resend(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Queue again every message not sent (the beat task): nothing is left behind if a worker died."""
    cutoff = timezone.now() - older_than
    waiting = list(
        OutboundMessage.objects.filter(state__in=(SendState.QUEUED, SendState.FAILED), created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in waiting:
        queue_now(SEND_TASK, pk)
    return len(waiting)
