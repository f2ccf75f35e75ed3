"""Subject access requests: logged, redactions chosen, the export generated (by a Celery task,
reporting progress), downloaded (audited) and closed when sent."""

from __future__ import annotations

import logging
from datetime import date

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.tasks import queue_after_commit
from records import documents
from records.errors import RecordError, StaleEdit
from records.models import (
    Patient,
    PatientStatus,
    RequesterKind,
    SubjectAccessRequest,
    SubjectAccessStatus,
)
from records.models.entries import history_note
from records.registries.subject_access import section_titles
from records.rules import subject_access as sar_rules
from records.selectors.subject_access import collect_export

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("pdf", "json")
# Statuses from which an export may be (re)generated.
GENERATABLE = (
    SubjectAccessStatus.RECEIVED,
    SubjectAccessStatus.IN_PROGRESS,
    SubjectAccessStatus.READY,
    SubjectAccessStatus.FAILED,
)


@transaction.atomic
def subject_access_create(
    *,
    logged_by,
    patient: Patient,
    received_on: date,
    requester_kind: str,
    requester_description: str = "",
) -> SubjectAccessRequest:
    if patient.status == PatientStatus.MERGED:
        raise RecordError("This record was merged: log the request on the record it was merged into.")
    if received_on > timezone.localdate():
        raise RecordError("The date received cannot be in the future.", field="received_on")
    requester_description = " ".join(requester_description.split())
    if requester_kind == RequesterKind.REPRESENTATIVE and not requester_description:
        raise RecordError(
            "Say who is asking for the patient and on what authority (for example, a solicitor "
            "with the patient's written consent).",
            field="requester_description",
        )
    sar = SubjectAccessRequest.objects.create(
        patient=patient,
        logged_by=logged_by,
        received_on=received_on,
        deadline=sar_rules.response_deadline(received_on),
        requester_kind=requester_kind,
        requester_description=requester_description,
    )
    audit_record(
        user=logged_by,
        action=Action.CREATE,
        patient_id=patient.pk,
        obj=sar,
        detail={"received_on": received_on.isoformat(), "deadline": sar.deadline.isoformat()},
    )
    return sar


def _lock(sar: SubjectAccessRequest) -> SubjectAccessRequest:
    return SubjectAccessRequest.objects.select_for_update().get(pk=sar.pk)


@transaction.atomic
def subject_access_set_redactions(
    *, changed_by, sar: SubjectAccessRequest, redactions: list[dict[str, str]], expected_version: int
) -> SubjectAccessRequest:
    """Replace the redactions; each needs a reason. A ready export must then be generated again."""
    locked = _lock(sar)
    if locked.version != expected_version:
        raise StaleEdit()
    if locked.status in (SubjectAccessStatus.GENERATING, SubjectAccessStatus.CLOSED):
        raise RecordError(f"Redactions cannot be changed while the request is {locked.get_status_display()}.")
    known = section_titles()
    cleaned: dict[tuple[str, str], dict[str, str]] = {}
    for r in redactions:
        section, entry_id = r["section"], str(r["entry_id"])
        reason = " ".join((r.get("reason") or "").split())
        if section not in known:
            raise RecordError(f"Unknown section {section!r}.")
        if not reason:
            raise RecordError("Give the reason for each redaction.", field=f"reason:{section}:{entry_id}")
        cleaned[(section, entry_id)] = {"section": section, "entry_id": entry_id, "reason": reason}
    locked.redactions = list(cleaned.values())
    locked.status = SubjectAccessStatus.IN_PROGRESS
    locked.version += 1
    locked.save()
    audit_record(
        user=changed_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"redactions": len(locked.redactions)},
    )
    return locked


@transaction.atomic
def subject_access_queue_generation(*, requested_by, sar: SubjectAccessRequest) -> SubjectAccessRequest:
    """Mark the request generating and queue the task once this transaction commits."""
    locked = _lock(sar)
    if locked.status not in GENERATABLE and not locked.is_stalled:
        raise RecordError(
            f"An export cannot be generated while the request is {locked.get_status_display()}."
        )
    locked.status = SubjectAccessStatus.GENERATING
    locked.generation_requested_by = requested_by
    locked.error_message = ""
    locked.progress = 0
    locked.progress_step = "Waiting to start"
    locked.progress_at = timezone.now()
    locked.save()
    audit_record(
        user=requested_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": locked.status},
    )
    queue_after_commit("records.tasks.generate_subject_access_export", locked.pk)
    return locked


def _report(sar_id: int, percent: int, step: str) -> None:
    """Progress, committed at once (outside any long transaction) so the page can show it."""
    SubjectAccessRequest.objects.filter(pk=sar_id).update(
        progress=percent, progress_step=step[:120], progress_at=timezone.now()
    )


def subject_access_generate(*, sar_id: int) -> SubjectAccessRequest | None:
    """Build the PDF and JSON of a request marked generating. Called by the task.

    Idempotent: a request that is not generating (already done, or never queued) is left alone,
    and each run writes the same two file names, replacing what an earlier run wrote.
    """
    with transaction.atomic():
        sar = SubjectAccessRequest.objects.select_for_update().select_related("patient").get(pk=sar_id)
        if sar.status != SubjectAccessStatus.GENERATING:
            return None
    _report(sar_id, 1, "Starting")
    step = "Starting"
    try:

        def progress(done: int, total: int, title: str) -> None:
            nonlocal step
            step = f"Collecting {title.lower()}"
            _report(sar_id, 5 + 75 * done // max(total, 1), step)

        export_sections, applied = collect_export(sar.patient, redactions=sar.redactions, progress=progress)
        generated_at = timezone.now()
        step = "Writing the JSON file"
        _report(sar_id, 82, step)
        json_bytes = documents.subject_access_json(sar, export_sections, applied, generated_at)
        step = "Rendering the PDF"
        _report(sar_id, 85, step)
        pdf_bytes = documents.subject_access_pdf(sar, export_sections, applied, generated_at)
        step = "Saving the files"
        _report(sar_id, 95, step)
        return _finish(sar_id, pdf_bytes, json_bytes, generated_at, redacted=len(applied))
    except Exception as exc:  # a broken section must not leave the request stuck at "generating"
        logger.error("Subject access export %s failed while %s: %s", sar_id, step, type(exc).__name__)
        return _mark_failed(sar_id, f"The export failed while {step.lower()}: {exc}")


@transaction.atomic
def _mark_failed(sar_id: int, message: str) -> SubjectAccessRequest:
    sar = SubjectAccessRequest.objects.select_for_update().get(pk=sar_id)
    if sar.status == SubjectAccessStatus.GENERATING:
        sar.status = SubjectAccessStatus.FAILED
        sar.error_message = message[:2000]
        history_note(sar, user=sar.generation_requested_by)
        sar.save()
    return sar


def _replace_file(field_file, filename: str, content: bytes) -> None:
    name = field_file.field.generate_filename(field_file.instance, filename)
    if field_file.storage.exists(name):
        field_file.storage.delete(name)
    field_file.save(filename, ContentFile(content), save=False)


@transaction.atomic
def _finish(sar_id: int, pdf: bytes, data: bytes, generated_at, *, redacted: int) -> SubjectAccessRequest:
    sar = SubjectAccessRequest.objects.select_for_update().get(pk=sar_id)
    if sar.status != SubjectAccessStatus.GENERATING:
        return sar  # cancelled or finished by another run meanwhile
    _replace_file(sar.pdf_file, f"subject-access-{sar.pk}.pdf", pdf)
    _replace_file(sar.json_file, f"subject-access-{sar.pk}.json", data)
    sar.status = SubjectAccessStatus.READY
    sar.generated_at = generated_at
    sar.progress = 100
    sar.progress_step = "Export ready"
    sar.progress_at = timezone.now()
    history_note(sar, user=sar.generation_requested_by)
    sar.save()
    audit_record(
        user=sar.generation_requested_by,
        action=Action.EXPORT,
        patient_id=sar.patient_id,
        obj=sar,
        channel=Channel.EXPORT,
        detail={"generated": list(EXPORT_FORMATS), "redactions": redacted},
    )
    return sar


def subject_access_record_download(*, downloaded_by, sar: SubjectAccessRequest, fmt: str) -> None:
    """One audit row per download of an export file."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    if not sar.has_export:
        raise RecordError("There is no export to download yet.")
    audit_record(
        user=downloaded_by,
        action=Action.EXPORT,
        patient_id=sar.patient_id,
        obj=sar,
        channel=Channel.EXPORT,
        detail={"download": fmt},
    )


@transaction.atomic
def subject_access_close(*, closed_by, sar: SubjectAccessRequest) -> SubjectAccessRequest:
    """The export was sent to the requester: the request is closed (its files are kept)."""
    locked = _lock(sar)
    if locked.status != SubjectAccessStatus.READY:
        raise RecordError("Only a request with a ready export can be marked as sent.")
    locked.status = SubjectAccessStatus.CLOSED
    locked.closed_by = closed_by
    locked.closed_at = timezone.now()
    locked.version += 1
    locked.save()
    audit_record(
        user=closed_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": "closed"},
    )
    return locked
