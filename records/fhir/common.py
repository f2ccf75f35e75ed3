"""What the FHIR resource modules of the record share: references to a Patient, and the search of one
patient's clinical entries (Observation, AllergyIntolerance, Condition) with its audit, a service's
refusal as an OperationOutcome, and where in a transaction Bundle an error is.

FHIR plumbing that knows nothing of the record (errors, search parameters and paging, dates, concepts,
ETags) is in epr.fhir.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from epr.audit.models import Action
from epr.audit.services import audit_patients_shown
from epr.fhir.errors import FHIRError, invalid_value
from epr.fhir.resources import reference_id
from epr.fhir.search import check_parameters, paging
from records.errors import RecordError

# Paging of a patient's clinical entries; the Patient search has its own, smaller, page.
DEFAULT_COUNT = 50
MAX_COUNT = 200


# --- References to a Patient ----------------------------------------------------------------------


def patient_id_param(raw: str) -> int:
    """The patient search parameter: Patient/<id> or <id>."""
    value = reference_id(raw, "Patient", bare_id=True)
    if value is None:
        raise invalid_value("patient must be Patient/<id> or <id>.", "patient")
    return value


def patient_reference_id(reference: str, base_url: str, *, message: str, expression: str) -> int:
    """The patient a posted resource is about: Patient/<id>, or that after this server's base URL."""
    value = reference_id(reference, "Patient", base_url=base_url)
    if value is None:
        raise invalid_value(message, expression)
    return value


# --- Searches of a patient's clinical entries -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RecordSearch:
    """What every search of clinical entries holds besides its own filters."""

    patient_id: int | None
    newest_first: bool = True
    count: int = DEFAULT_COUNT
    offset: int = 0
    # The search parameters as sent, without paging, for the Bundle's links (dates may repeat).
    params: list[tuple[str, str]] = field(default_factory=list)

    @property
    def criteria(self) -> list[str]:
        return sorted({name for name, _ in self.params})


def check_record_query(
    query: QueryDict,
    supported: Set[str],
    repeatable: Set[str],
    *,
    patient_required: bool,
    what: str,
    newest_first: str,
) -> bool:
    """Refuse unknown or wrongly repeated parameters, a search of no one patient when one is required,
    and an unknown _sort; True when the newest come first.

    `what` is searched for ("observations"); `newest_first` says what -date means for it.
    """
    check_parameters(query, supported, repeatable=repeatable)
    if patient_required and "patient" not in query:
        raise FHIRError(f"Search {what} of one patient: add patient=Patient/<id>.", code="required")
    sort = query.get("_sort", "-date")
    if sort not in ("-date", "date"):
        raise invalid_value(f"_sort must be -date ({newest_first}) or date.", "_sort")
    return sort == "-date"


def record_search_fields(query: QueryDict) -> dict[str, Any]:
    """The patient, paging and parameters (for the links) of a query check_record_query has passed."""
    patient_id = patient_id_param(query["patient"]) if "patient" in query else None
    count, offset = paging(query, DEFAULT_COUNT, MAX_COUNT)
    return {
        "patient_id": patient_id,
        "count": count,
        "offset": offset,
        "params": [(k, v) for k in query if not k.startswith("_") or k == "_sort" for v in query.getlist(k)],
    }


def audit_search(
    user: Any, search: RecordSearch, found: Iterable[tuple[int, str]], *, noun: str, reason: str
) -> None:
    """One audit row per patient whose entries were returned (found: patient id, resource id), and for
    the patient searched, so each patient's access log shows the search."""
    ids: dict[int, list[str]] = defaultdict(list)
    for patient_id, resource_id in found:
        ids[patient_id].append(resource_id)
    if search.patient_id is not None:
        ids.setdefault(search.patient_id, [])
    if not ids:
        return
    # One INSERT for them all, so a page of results costs one query however many patients it spans.
    audit_patients_shown(
        user=user,
        action=Action.SEARCH,
        patient_ids=ids,
        detail={"criteria": search.criteria},
        per_patient={patient_id: {noun: resource_ids} for patient_id, resource_ids in ids.items()},
        break_glass_reason=reason,
    )


def refusal(exc: RecordError, paths: Mapping[str, str], *, resource: str | None) -> FHIRError:
    """A service's refusal as a 422 OperationOutcome, the one place a RecordError becomes one.
    `paths` names the element each model field came from; a field it does not name points at the
    resource (or at nothing, with resource None). Refused values are all named, with code "value";
    any other refusal is a "business-rule" naming its one field."""
    if exc.about_values:
        expression = sorted({where for name in exc.errors if (where := paths.get(name, resource))})
        return FHIRError(" ".join(exc.errors.values()), status_code=422, code="value", expression=expression)
    where = paths.get(exc.field, resource) if exc.field else None
    return FHIRError(exc.message, status_code=422, code="business-rule", expression=[where] if where else [])


def entry_path(index: int, expression: str) -> str:
    """Where an element of a Bundle entry's resource is: Observation.code -> Bundle.entry[2].resource.code."""
    head, dot, rest = expression.partition(".")
    if head in ("Observation", "Patient"):
        return f"Bundle.entry[{index}].resource{dot}{rest}"
    return f"Bundle.entry[{index}].{expression}"


def in_entry(error: FHIRError, index: int) -> FHIRError:
    """The error of one Bundle entry, with the entry named in its text and element paths."""
    return FHIRError(
        f"Bundle.entry[{index}]: {error.diagnostics}",
        status_code=error.status_code,
        code=error.code,
        expression=[entry_path(index, e) for e in error.expression] or [f"Bundle.entry[{index}]"],
    )
