"""Transaction Bundles (POST /fhir/ with Bundle.type "transaction"): all entries saved, or none.

An app takes part for one resource type by registering a TransactionPart with it. Parts run in order,
so a later part can refer to what an earlier one created in the same Bundle (an Observation whose
subject is the fullUrl of a Patient entry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from epr.fhir.errors import FHIRError

# What a part records: each entry's location ("Patient/12") and whether it created anything.
Outcomes = dict[int, tuple[str, bool]]


@dataclass
class TransactionContext:
    caller: Any  # epr.fhir.views.Caller
    base_url: str
    entries: list[Any]
    created: dict[int, Any] = field(default_factory=dict)  # by entry index, from earlier parts

    def created_with_full_url(self, reference: str) -> Any | None:
        return next(
            (obj for index, obj in self.created.items() if self.entries[index].fullUrl == reference), None
        )


@dataclass(frozen=True)
class TransactionPart:
    order: int
    # Raises FHIRError (403) when this member of staff may not create the type; system clients are
    # checked by scope instead.
    check_staff: Callable[[Any, int], None]
    # Records the part's entries, (index, entry) pairs in Bundle order, inside the Bundle's transaction.
    record: Callable[[TransactionContext, list[tuple[int, Any]]], Outcomes]


class AuditedRefusal(FHIRError):
    """A refusal for want of a care relationship, naming the patient, so its "denied" audit row can be
    written again when the transaction that held the first one is rolled back."""

    def __init__(self, message: str, *, patient_id: int) -> None:
        super().__init__(message, status_code=403, code="forbidden")
        self.patient_id = patient_id
