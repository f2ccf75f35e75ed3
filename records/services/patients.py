from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from records import signals
from records.errors import RecordError
from records.models import NHSNumberStatus, Patient, PatientStatus
from records.models.entries import history_note
from records.rules import patients as rules
from records.services.entries import lock_for_edit

DEMOGRAPHIC_FIELDS = (
    "nhs_number",
    "nhs_number_status",
    "temporary_identity",
    "title",
    "family_name",
    "given_names",
    "preferred_name",
    "date_of_birth",
    "sex",
    "gender_identity",
    "date_of_death",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "phone",
    "email",
    "gp_practice_code",
    "gp_practice_name",
    "next_of_kin_name",
    "next_of_kin_relationship",
    "next_of_kin_phone",
    "ethnic_category",
    "preferred_language",
    "interpreter_required",
)

# What a person's details are made of for history, comparison and rollback: the demographics plus the
# time of death, which only a discharge records.
HISTORY_FIELDS = (*DEMOGRAPHIC_FIELDS, "time_of_death")

_STATUSES_NEEDING_A_NUMBER = (NHSNumberStatus.VERIFIED, NHSNumberStatus.NOT_TRACED)

HOSPITAL_NUMBER_SEQUENCE = "records_hospital_number_seq"


def next_hospital_numbers(count: int) -> list[str]:
    """Hospital numbers from a database sequence: unique across processes, in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [HOSPITAL_NUMBER_SEQUENCE, count])
        return [f"H{value:07d}" for (value,) in cursor.fetchall()]


def next_hospital_number() -> str:
    return next_hospital_numbers(1)[0]


def _clean_demographics(values: dict[str, Any], *, today: date) -> dict[str, Any]:
    """Normalise and check demographic values; raise RecordError naming the field at fault."""
    cleaned = dict(values)
    if "nhs_number" in cleaned:
        raw = cleaned["nhs_number"] or ""
        if raw.strip():
            try:
                cleaned["nhs_number"] = rules.validate_nhs_number(raw)
            except rules.InvalidNHSNumber as exc:
                raise RecordError(str(exc), field="nhs_number") from exc
        else:
            cleaned["nhs_number"] = ""
    if cleaned.get("postcode"):
        cleaned["postcode"] = " ".join(cleaned["postcode"].upper().split())
    for field in ("family_name", "given_names"):
        if field in cleaned:
            cleaned[field] = " ".join((cleaned[field] or "").split())
    if "family_name" in cleaned and not cleaned["family_name"]:
        raise RecordError("Enter the patient's family name (surname).", field="family_name")
    dob = cleaned.get("date_of_birth")
    if dob and dob > today:
        raise RecordError("Date of birth must be today or in the past.", field="date_of_birth")
    dod = cleaned.get("date_of_death")
    if dod and dod > today:
        raise RecordError("Date of death must be today or in the past.", field="date_of_death")
    if dob and dod and dod < dob:
        raise RecordError("Date of death must be on or after the date of birth.", field="date_of_death")
    return cleaned


def _check_nhs_number_free(nhs_number: str, *, exclude_id: int | None = None) -> None:
    if not nhs_number:
        return
    clash = Patient.objects.filter(nhs_number=nhs_number, status=PatientStatus.ACTIVE)
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    existing = clash.first()
    if existing is not None:
        raise RecordError(
            f"NHS number {rules.format_nhs_number(nhs_number)} already belongs to "
            f"{existing.hospital_number}. "
            "Open that record instead, or merge the records if they are the same person.",
            field="nhs_number",
        )


def _save_guarding_unique(patient: Patient) -> None:
    # The partial unique index is the last word when two clerks register the same number at once.
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:
        if "patient_nhs_number_unique_among_active" in str(exc):
            raise RecordError(
                "Another active record already has this NHS number.", field="nhs_number"
            ) from exc
        raise


@transaction.atomic
def patient_register(*, registered_by, **values: Any) -> Patient:
    """Register a patient. With temporary_identity=True an unknown patient gets placeholder details."""
    unknown = [k for k in values if k not in DEMOGRAPHIC_FIELDS]
    if unknown:
        raise TypeError(f"Unknown patient fields: {unknown}")
    today = timezone.localdate()
    if values.get("temporary_identity"):
        values.setdefault("family_name", "UNKNOWN")
        if not values.get("family_name"):
            values["family_name"] = "UNKNOWN"
        values.setdefault("nhs_number_status", NHSNumberStatus.TRACE_REQUIRED)
    cleaned = _clean_demographics(values, today=today)
    if cleaned.get("nhs_number") and "nhs_number_status" not in values:
        cleaned["nhs_number_status"] = NHSNumberStatus.NOT_TRACED
    if not cleaned.get("nhs_number") and cleaned.get("nhs_number_status") in _STATUSES_NEEDING_A_NUMBER:
        raise RecordError("A verified or present status needs an NHS number.", field="nhs_number_status")
    _check_nhs_number_free(cleaned.get("nhs_number", ""))
    patient = Patient(hospital_number=next_hospital_number(), **cleaned)
    history_note(patient, reason="Registered", user=registered_by)  # "who", also outside a web request
    _save_guarding_unique(patient)
    audit_record(user=registered_by, action=Action.CREATE, patient_id=patient.pk, obj=patient)
    transaction.on_commit(lambda: signals.patient_registered.send(sender=Patient, patient=patient))
    return patient


def patient_require_writable(patient: Patient) -> None:
    """Refuse new clinical entries on a merged or archived record (a stale page or break-glass on the
    duplicate could otherwise write to it)."""
    status, survivor = (
        Patient.objects.filter(pk=patient.pk).values_list("status", "merged_into__hospital_number").get()
    )
    if status == PatientStatus.MERGED:
        raise RecordError(f"This record was merged into {survivor}: record it on that record.")
    if status == PatientStatus.ARCHIVED:
        raise RecordError("This record is archived: nothing can be added to it.")


@transaction.atomic
def patient_update(
    *, updated_by, patient: Patient, expected_version: int, changes: dict[str, Any], reason: str = ""
) -> Patient:
    """Change demographics. A save based on an older version than the current one is refused."""
    unknown = [k for k in changes if k not in DEMOGRAPHIC_FIELDS]
    if unknown:
        raise TypeError(f"Unknown patient fields: {unknown}")
    locked = lock_for_edit(patient, expected_version)
    if not locked.is_active:
        raise RecordError("This record is merged or archived and cannot be changed.")
    cleaned = _clean_demographics(changes, today=timezone.localdate())
    changed = [f for f, v in cleaned.items() if getattr(locked, f) != v]
    if not changed:
        return locked
    if "nhs_number" in changed:
        _check_nhs_number_free(cleaned["nhs_number"], exclude_id=locked.pk)
    for field in changed:
        setattr(locked, field, cleaned[field])
    if not locked.nhs_number and locked.nhs_number_status in _STATUSES_NEEDING_A_NUMBER:
        raise RecordError("A verified or present status needs an NHS number.", field="nhs_number_status")
    locked.version += 1
    history_note(locked, reason=reason or "Demographics updated", user=updated_by)
    _save_guarding_unique(locked)
    # Field names only: values are patient data and the audit detail is shown widely.
    audit_record(
        user=updated_by, action=Action.UPDATE, patient_id=locked.pk, obj=locked, detail={"fields": changed}
    )
    return locked


@transaction.atomic
def patient_rollback(
    *, rolled_back_by, patient: Patient, history_id: int, expected_version: int, reason: str = ""
) -> Patient:
    """Write a new version whose demographics equal an earlier one; nothing is erased. The reason,
    when given, is kept in the history beside the version rolled back to."""
    locked = lock_for_edit(patient, expected_version)
    if not locked.is_active:
        raise RecordError("This record is merged or archived and cannot be changed.")
    try:
        old = locked.history.get(history_id=history_id)
    except Patient.history.model.DoesNotExist as exc:
        raise RecordError("That version does not belong to this record.") from exc
    values = {f: getattr(old, f) for f in HISTORY_FIELDS}
    changed = [f for f, v in values.items() if getattr(locked, f) != v]
    if "nhs_number" in changed:
        _check_nhs_number_free(values["nhs_number"], exclude_id=locked.pk)
    for field in changed:
        setattr(locked, field, values[field])
    locked.version += 1
    history_note(
        locked,
        reason=f"Rolled back to version {old.version}" + (f": {reason.strip()}" if reason.strip() else ""),
        user=rolled_back_by,
    )
    _save_guarding_unique(locked)
    audit_record(
        user=rolled_back_by,
        action=Action.ROLLBACK,
        patient_id=locked.pk,
        obj=locked,
        detail={"to_version": old.version, "fields": changed},
    )
    return locked
