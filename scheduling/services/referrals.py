"""Referrals in and out: registering one against a patient, correcting its details, attaching the
letter or images it came with, triaging it (accept to a clinic type or waiting list, redirect, reject
with the reason for the referrer) and closing it. While a referral is open its receiving team has a
care relationship with the patient (kind "referral"); closing, redirecting or rejecting it ends that
relationship (access then lasts the usual grace period, for the letter back)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records.errors import RecordError, StaleEdit
from records.models import CareRelationship, Patient, Specialty, Team
from records.models.entries import history_note
from records.services.access import care_relationship_end, care_relationship_start
from records.services.entries import lock_for_edit
from records.services.patients import patient_require_writable
from scheduling.models import (
    Referral,
    ReferralAttachment,
    ReferralDirection,
    ReferralPriority,
    ReferralSource,
    ReferralStatus,
    SlotType,
    WaitingKind,
)
from scheduling.models.referrals import OPEN_REFERRAL
from scheduling.services.waiting import waiting_entry_add

REFERRAL_CARE_KIND = "referral"  # registered in scheduling/wiring.py
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
UBRN = re.compile(r"^\d{12}$")
# What a referral may carry, told apart by the file's first bytes as well as its name, so a renamed
# program is refused: PDF, JPEG, PNG, TIFF, Word (.doc is an OLE file, .docx a zip).
ATTACHMENT_TYPES = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".tif": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".tiff": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
}
EDITABLE = (
    "source",
    "electronic",
    "ubrn",
    "referrer_name",
    "referrer_organisation",
    "service",
    "priority",
    "reason",
    "received_on",
)


class Outcome:
    ACCEPT = "accept"
    REDIRECT = "redirect"
    REJECT = "reject"
    CHOICES = (
        (ACCEPT, "Accept: add to a waiting list"),
        (REDIRECT, "Redirect to another service"),
        (REJECT, "Reject: send back to the referrer"),
    )


@dataclass(frozen=True)
class ReferralDetails:
    """What the register and edit forms give; the service checks it (the same rules for both)."""

    source: str
    electronic: bool
    ubrn: str
    referrer_name: str
    referrer_organisation: str
    specialty: str
    service: str
    priority: str
    reason: str
    received_on: date


def _checked(details: ReferralDetails, *, direction: str, team: Team | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source": details.source,
        "electronic": bool(details.electronic),
        "ubrn": "".join(details.ubrn.split()),
        "referrer_name": " ".join(details.referrer_name.split()),
        "referrer_organisation": details.referrer_organisation.strip().upper(),
        "specialty": details.specialty,
        "service": " ".join(details.service.split()),
        "priority": details.priority,
        "reason": details.reason.strip(),
        "received_on": details.received_on,
    }
    errors = {}
    if direction not in ReferralDirection.values:
        errors["direction"] = "Choose incoming or outgoing."
    if values["source"] not in ReferralSource.values:
        errors["source"] = "Choose who the referral is from."
    if values["specialty"] not in Specialty.values:
        errors["specialty"] = "Choose the specialty referred to."
    if values["priority"] not in ReferralPriority.values:
        errors["priority"] = "Choose routine, urgent or two-week wait."
    if values["ubrn"] and not UBRN.match(values["ubrn"]):
        errors["ubrn"] = "The e-RS booking reference (UBRN) is 12 digits."
    if values["ubrn"] and not values["electronic"]:
        errors["ubrn"] = "A paper referral has no e-RS booking reference: tick electronic or clear it."
    for name, label in (
        ("referrer_name", "who referred"),
        ("service", "the service"),
        ("reason", "the reason"),
    ):
        if not values[name]:
            errors[name] = f"Enter {label}."
    if values["received_on"] > timezone.localdate():
        errors["received_on"] = "The date received cannot be in the future."
    if direction == ReferralDirection.INCOMING and team is None:
        errors["team"] = "Choose the team that receives the referral."
    if errors:
        raise RecordError(next(iter(errors.values())), errors=errors)
    return values


def _care_start(referral: Referral) -> None:
    if referral.team is not None:
        care_relationship_start(
            patient=referral.patient,
            group=referral.team.staff_group,
            kind=REFERRAL_CARE_KIND,
            encounter=None,
        )


def _care_end(referral: Referral) -> None:
    """End one of the team's referral relationships with the patient: one was started per open
    referral, so a second open referral to the same team keeps its own."""
    if referral.team is None:
        return
    relationship = (
        CareRelationship.objects.filter(
            patient_id=referral.patient_id,
            group_id=referral.team.staff_group_id,
            kind=REFERRAL_CARE_KIND,
            ends_at__isnull=True,
        )
        .order_by("started_at", "pk")
        .first()
    )
    if relationship is not None:
        care_relationship_end(relationship=relationship)


@transaction.atomic
def referral_register(
    *,
    registered_by: Any,
    patient: Patient,
    details: ReferralDetails,
    direction: str = ReferralDirection.INCOMING,
    team: Team | None = None,
) -> Referral:
    """Register a referral; its receiving team may open the patient's record while it is open."""
    patient_require_writable(patient)
    values = _checked(details, direction=direction, team=team)
    referral = Referral.objects.create(
        patient=patient,
        direction=direction,
        team=team,
        registered_by=registered_by,
        registered_at=timezone.now(),
        **values,
    )
    _care_start(referral)
    audit_record(
        user=registered_by,
        action=Action.CREATE,
        patient_id=patient.pk,
        obj=referral,
        detail={"direction": direction, "priority": values["priority"]},
    )
    return referral


@transaction.atomic
def referral_update(
    *, referral: Referral, changed_by: Any, version: int, details: ReferralDetails
) -> Referral:
    """Correct a referral's details from the version the user saw. The specialty and team stay (a
    referral for another team is a redirect); the date received, which starts the RTT clock, only
    changes while no clock has started from it."""
    locked = lock_for_edit(
        referral,
        version,
        noun="referral",
        refuse=lambda row: "" if row.status in OPEN_REFERRAL else "A closed referral cannot be changed.",
    )
    values = _checked(
        ReferralDetails(**{**details.__dict__, "specialty": locked.specialty}),
        direction=locked.direction,
        team=locked.team,
    )
    changed = [name for name in EDITABLE if getattr(locked, name) != values[name]]
    if "received_on" in changed and locked.waiting.exists():
        raise RecordError(
            "The date received started this referral's RTT clock on its waiting list; it cannot change now.",
            field="received_on",
        )
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, values[name])
    locked.version += 1
    locked.save()
    audit_record(
        user=changed_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"changed": changed},
    )
    return locked


def attachment_refusal(name: str, content: bytes) -> tuple[str, str] | str:
    """The stored type and clean name of an acceptable file, or why it is refused."""
    clean = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "attachment"
    extension = ("." + clean.rsplit(".", 1)[-1].lower()) if "." in clean else ""
    if not content:
        return "The file is empty: choose the referral letter or image again."
    if len(content) > MAX_ATTACHMENT_BYTES:
        size = len(content) / (1024 * 1024)
        return f"The file is {size:.1f} MB; attachments can be up to 10 MB. Scan it at a lower resolution."
    known = ATTACHMENT_TYPES.get(extension)
    if known is None:
        return "Attach a PDF, an image (JPEG, PNG or TIFF) or a Word document (.doc or .docx)."
    content_type, signatures = known
    if not any(content.startswith(signature) for signature in signatures):
        return f"The file is named {extension} but is not one: save it again as a PDF, image or Word file."
    return content_type, clean


@transaction.atomic
def attachment_add(*, referral: Referral, added_by: Any, name: str, content: bytes) -> ReferralAttachment:
    checked = attachment_refusal(name, content)
    if isinstance(checked, str):
        raise RecordError(checked, field="file")
    content_type, clean = checked
    attachment = ReferralAttachment.objects.create(
        referral=referral,
        name=clean,
        content_type=content_type,
        content=content,
        size=len(content),
        added_by=added_by,
        added_at=timezone.now(),
    )
    audit_record(
        user=added_by,
        action=Action.CREATE,
        patient_id=referral.patient_id,
        obj=attachment,
        detail={"referral": referral.pk, "content_type": content_type, "size": len(content)},
    )
    return attachment


@dataclass(frozen=True)
class Triage:
    outcome: str
    waiting_kind: str = ""
    clinic_type: str = ""
    procedure: str = ""
    redirect_to: str = ""
    reason: str = ""


def _triage_refusals(triage: Triage) -> dict[str, str]:
    errors = {}
    if triage.outcome == Outcome.ACCEPT:
        if triage.waiting_kind not in WaitingKind.values:
            errors["waiting_kind"] = "Choose a first outpatient appointment or an admission."
        elif triage.waiting_kind == WaitingKind.OUTPATIENT and triage.clinic_type not in SlotType.values:
            errors["clinic_type"] = "Choose the type of clinic appointment."
        elif triage.waiting_kind == WaitingKind.ADMISSION and not triage.procedure.strip():
            errors["procedure"] = "Enter the procedure the patient waits for."
    elif triage.outcome == Outcome.REDIRECT:
        if not triage.redirect_to.strip():
            errors["redirect_to"] = "Enter the service the referral goes to instead."
        if not triage.reason.strip():
            errors["reason"] = "Enter why, for the referrer."
    elif triage.outcome == Outcome.REJECT:
        if not triage.reason.strip():
            errors["reason"] = "Enter why the referral is rejected: the referrer is told."
    else:
        errors["outcome"] = "Choose accept, redirect or reject."
    return errors


@transaction.atomic
def referral_triage(*, referral: Referral, triaged_by: Any, version: int, triage: Triage) -> Referral:
    """A clinician's triage, once: accepted to a waiting list (its RTT clock started on the day the
    referral was received), redirected or rejected with the reason for the referrer."""
    locked = lock_for_edit(referral, None, noun="referral")
    if locked.status != ReferralStatus.RECEIVED:
        who = locked.triaged_by.get_full_name() if locked.triaged_by else "someone"
        raise RecordError(
            f"This referral was already triaged ({locked.get_status_display().lower()}) by {who}"
            + (f" on {timezone.localtime(locked.triaged_at):%d-%b-%Y %H:%M}." if locked.triaged_at else ".")
        )
    if locked.version != version:
        raise StaleEdit()
    errors = _triage_refusals(triage)
    if errors:
        raise RecordError(next(iter(errors.values())), errors=errors)
    reason = triage.reason.strip()
    if triage.outcome == Outcome.ACCEPT:
        waiting_entry_add(
            referral=locked, added_by=triaged_by, kind=triage.waiting_kind, procedure=triage.procedure
        )
        locked.status = ReferralStatus.ACCEPTED
        locked.triage_outcome = _accepted_text(triage)
    elif triage.outcome == Outcome.REDIRECT:
        locked.status = ReferralStatus.REDIRECTED
        locked.redirected_to = " ".join(triage.redirect_to.split())[:150]
        locked.triage_outcome = f"Redirected to {locked.redirected_to}"
    else:
        locked.status = ReferralStatus.REJECTED
        locked.triage_outcome = "Rejected"
    locked.triage_reason = reason
    locked.triaged_by = triaged_by
    locked.triaged_at = timezone.now()
    locked.version += 1
    locked.save()
    if locked.status not in OPEN_REFERRAL:
        _care_end(locked)
    audit_record(
        user=triaged_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"triage": triage.outcome},
    )
    return locked


def _accepted_text(triage: Triage) -> str:
    if triage.waiting_kind == WaitingKind.OUTPATIENT:
        clinic = SlotType(triage.clinic_type).label.lower()
        return f"Accepted to the waiting list for a {clinic} clinic appointment"
    return f"Accepted to the admission waiting list: {' '.join(triage.procedure.split())}"[:300]


@transaction.atomic
def referral_close(*, referral: Referral, closed_by: Any, version: int, reason: str) -> Referral:
    """Close an open referral (the pathway has ended); the team's care relationship from it ends."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise RecordError("Enter why the referral is closed.", field="reason")
    locked = lock_for_edit(
        referral,
        version,
        noun="referral",
        refuse=lambda row: "" if row.status in OPEN_REFERRAL else "This referral is already closed.",
    )
    locked.status = ReferralStatus.CLOSED
    locked.version += 1
    history_note(locked, reason=f"Closed: {reason}")
    locked.save()
    _care_end(locked)
    audit_record(
        user=closed_by,
        action=Action.UPDATE,
        patient_id=locked.patient_id,
        obj=locked,
        detail={"status": ReferralStatus.CLOSED, "reason": reason},
    )
    return locked
