"""Signed documents out: one DocumentDelivery per recipient (the GP practice; for a clinic letter also
the patient), queued in the signing transaction and sent after commit by a Celery task through a
folder outbox (EPR_DOCUMENTS_OUTBOX): the PDF and the FHIR document Bundle (JSON) for the GP under
gp/<ODS code>/, the PDF for the patient under patients-print/ for the print room. A write that fails
is recorded as failed (and shown on the document) before the task retries; a beat task queues every
unsent one again, so nothing is dropped. A recipient with no address (no GP practice recorded, no
postal address) is not sent at all: the delivery says why.

Acknowledged: the practice's interface engine (or whoever empties the folder) writes
<file name>.ack beside a sent file; the beat task marks those deliveries acknowledged. Staff can also
mark one received by hand (the practice rang) — recorded as such in the audit trail."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.tasks import queue_after_commit, queue_now
from records.errors import RecordError
from scheduling.models import ClinicalDocument, DeliveryState, DocumentDelivery, DocumentKind
from scheduling.renderings import document_bundle, document_pdf
from scheduling.selectors.documents import printed_sections

SEND_TASK = "scheduling.tasks.send_document"
GP, PATIENT = "gp", "patient"
NO_GP = "Not sent: no GP practice is recorded for this patient. Record the practice, then send it by hand."
NO_ADDRESS = "Not sent: no postal address is recorded for this patient."


class SendFailed(Exception):
    """The outbox could not be written; try again."""


def _delivery(document: ClinicalDocument, recipient: str, address: str, why_not: str, now: datetime) -> None:
    delivery = DocumentDelivery.objects.create(
        document=document,
        recipient=recipient,
        address=address[:200],
        state=DeliveryState.FAILED if why_not else DeliveryState.QUEUED,
        last_error=why_not,
        created_at=now,
    )
    if not why_not:
        queue_after_commit(SEND_TASK, delivery.pk)


def deliveries_queue(*, document: ClinicalDocument, now: datetime) -> None:
    """The document's deliveries, in the signing transaction; each is sent after commit."""
    patient = document.patient
    code = patient.gp_practice_code.strip()
    _delivery(document, GP, code, "" if code else NO_GP, now)
    if document.kind == DocumentKind.CLINIC_LETTER:
        address = patient.address_display
        _delivery(document, PATIENT, address, "" if address else NO_ADDRESS, now)


def _folder(delivery: DocumentDelivery) -> Path:
    root = Path(settings.EPR_DOCUMENTS_OUTBOX)
    if delivery.recipient == GP:
        # An ODS code is letters and digits; anything else must not steer the path.
        safe = "".join(c for c in delivery.address.upper() if c.isalnum()) or "UNKNOWN"
        return root / "gp" / safe
    return root / "patients-print"


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    # Written then renamed, so a reader never picks up half a document.
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def _stem(delivery: DocumentDelivery) -> str:
    document = delivery.document
    return f"{document.kind}-{document.pk}-{delivery.recipient}-{delivery.pk}"


def _write_to_outbox(delivery: DocumentDelivery) -> str:
    folder = _folder(delivery)
    folder.mkdir(parents=True, exist_ok=True)
    document = delivery.document
    stem = _stem(delivery)
    sections = printed_sections(document)
    _write(folder / f"{stem}.pdf", document_pdf(document, sections))
    if delivery.recipient == GP:
        bundle = document_bundle(document, sections)
        _write(folder / f"{stem}.json", json.dumps(bundle, indent=2).encode("utf-8"))
    return str((folder / stem).relative_to(Path(settings.EPR_DOCUMENTS_OUTBOX)))


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery (the task calls this); returns its state. Raises SendFailed, after the failure
    is recorded and committed, for the task to retry."""
    with transaction.atomic():
        state, error = _attempt(delivery_id)
    if error:
        raise SendFailed(error)
    return state


def _attempt(delivery_id: int) -> tuple[str, str]:
    delivery = (
        DocumentDelivery.objects.select_for_update(of=("self",))
        .select_related("document__patient", "document__signed_by")
        .get(pk=delivery_id)
    )
    if delivery.state in (DeliveryState.SENT, DeliveryState.ACKNOWLEDGED):
        return delivery.state, ""  # sent already: a retried task writes nothing twice
    if not delivery.address:
        return delivery.state, ""  # nowhere to send it; the delivery says why
    delivery.attempts += 1
    try:
        name = _write_to_outbox(delivery)
    except OSError as exc:
        delivery.state = DeliveryState.FAILED
        # The reason, not the path: the folder name can carry the practice code, never patient data.
        delivery.last_error = f"Could not write to the documents outbox: {exc.strerror or exc}"[:2000]
        delivery.save(update_fields=["state", "attempts", "last_error"])
        return delivery.state, delivery.last_error
    delivery.state = DeliveryState.SENT
    delivery.sent_at = timezone.now()
    delivery.file_name = name
    delivery.last_error = ""
    delivery.save(update_fields=["state", "attempts", "last_error", "sent_at", "file_name"])
    return delivery.state, ""


def deliveries_resend(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Queue again every delivery not sent that has somewhere to go (the beat task)."""
    cutoff = timezone.now() - older_than
    waiting = list(
        DocumentDelivery.objects.filter(
            state__in=(DeliveryState.QUEUED, DeliveryState.FAILED), created_at__lt=cutoff
        )
        .exclude(address="")
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in waiting:
        queue_now(SEND_TASK, pk)
    return len(waiting)


def acknowledgements_collect(*, now: datetime | None = None) -> int:
    """Mark acknowledged the GP deliveries whose <file name>.ack has appeared in the outbox."""
    root = Path(settings.EPR_DOCUMENTS_OUTBOX)
    now = now or timezone.now()
    marked = 0
    sent = DocumentDelivery.objects.filter(state=DeliveryState.SENT, recipient=GP).exclude(file_name="")
    for delivery in sent.order_by("pk")[:1000]:
        if (root / f"{delivery.file_name}.ack").exists():
            marked += DocumentDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENT).update(
                state=DeliveryState.ACKNOWLEDGED, acknowledged_at=now
            )
    return marked


@transaction.atomic
def delivery_mark_received(
    *, delivery: DocumentDelivery, marked_by: Any, now: datetime | None = None
) -> DocumentDelivery:
    """Staff record that the practice has the document (they rang, or it came back another way)."""
    locked = DocumentDelivery.objects.select_for_update().select_related("document").get(pk=delivery.pk)
    if locked.state != DeliveryState.SENT:
        raise RecordError("Only a document that was sent can be marked as received.")
    locked.state = DeliveryState.ACKNOWLEDGED
    locked.acknowledged_at = now or timezone.now()
    locked.save(update_fields=["state", "acknowledged_at"])
    audit_record(
        user=marked_by,
        action=Action.UPDATE,
        patient_id=locked.document.patient_id,
        obj=locked,
        detail={"delivery": "marked received"},
    )
    return locked


@transaction.atomic
def delivery_send_again(*, delivery: DocumentDelivery, by: Any) -> DocumentDelivery:
    """Queue a failed delivery now (after the outbox was fixed, or the GP practice recorded)."""
    locked = (
        DocumentDelivery.objects.select_for_update().select_related("document__patient").get(pk=delivery.pk)
    )
    if locked.state != DeliveryState.FAILED:
        raise RecordError("Only a delivery that failed can be sent again.")
    if locked.recipient == GP and not locked.address:
        code = locked.document.patient.gp_practice_code.strip()
        if not code:
            raise RecordError(NO_GP)
        locked.address = code
    locked.state, locked.last_error = DeliveryState.QUEUED, ""
    locked.save(update_fields=["address", "state", "last_error"])
    audit_record(
        user=by,
        action=Action.UPDATE,
        patient_id=locked.document.patient_id,
        obj=locked,
        detail={"delivery": "again"},
    )
    queue_after_commit(SEND_TASK, locked.pk)
    return locked
