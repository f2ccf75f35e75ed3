"""FHIR R4 (UK Core shapes) for scheduling: Location (sites, wards, bays, beds and clinics' places),
Encounter (admissions and outpatient attendances), Schedule (a clinic), Slot and Appointment.

What the modules share is here: the trust's own identifier systems, a search's parsed query (the
filters as one Q, paging, and the parameters as sent for the Bundle's links), token parameters, and
references to a Location by its kind and row id ("ward-3").
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.conf import settings
from django.db.models import Q
from django.http import QueryDict

from epr.fhir.errors import FHIRError, invalid_value
from epr.fhir.search import check_parameters, paging
from epr.parsing import ascii_int
from records.fhir.common import RecordSearch

NOTHING = Q(pk__in=[])
DEFAULT_COUNT = 50
MAX_COUNT = 200
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"

TokenQ = Callable[[str], Q]  # a code -> the rows it finds


def trust_system(name: str) -> str:
    """One of the trust's own identifier or code systems, built as the other apps build theirs."""
    return f"https://fhir.{settings.EPR_ORGANISATION_ODS.lower()}.nhs.uk/Id/{name}"


def service_provider() -> dict[str, object]:
    """The trust, by its ODS code (there is no Organization resource)."""
    return {"identifier": {"system": ODS_SYSTEM, "value": settings.EPR_ORGANISATION_ODS}}


@dataclass(frozen=True, kw_only=True)
class Search(RecordSearch):
    """A checked search: its filters, the patient searched (if any), order and paging (audited as
    records' searches are)."""

    where: Q
    patient_id: int | None = None
    newest_first: bool = False


def checked_query(
    query: QueryDict, supported: Set[str], *, repeatable: Set[str] = frozenset()
) -> tuple[int, int, list[tuple[str, str]]]:
    """Refuse unknown or wrongly repeated parameters; (count, offset, parameters as sent)."""
    check_parameters(query, {*supported, "_count", "_offset"}, repeatable=repeatable)
    count, offset = paging(query, DEFAULT_COUNT, MAX_COUNT)
    params = [(k, v) for k in query if not k.startswith("_") or k == "_sort" for v in query.getlist(k)]
    return count, offset, params


def sort_newest_first(query: QueryDict, *, default: str, what: str) -> bool:
    """_sort: date (earliest first) or -date (latest first)."""
    sort = query.get("_sort", default)
    if sort not in ("date", "-date"):
        raise invalid_value(f"_sort must be date (earliest {what} first) or -date (latest first).", "_sort")
    return sort == "-date"


def _token_q(token: str, system: str | None, to_q: TokenQ) -> Q:
    """system|code, |code or code; a code of another system finds nothing."""
    sent, bar, code = token.partition("|")
    if not bar:
        sent, code = "", token
    if system is not None and sent not in ("", system):
        return NOTHING
    return to_q(code)


def tokens_q(values: list[str], system: str | None, to_q: TokenQ) -> Q:
    """Each repeat of the parameter narrows (AND); commas inside one widen (OR)."""
    return reduce(
        and_,
        (reduce(or_, (_token_q(t.strip(), system, to_q) for t in value.split(","))) for value in values),
        Q(),
    )


def reference_pk(raw: str, resource_type: str, name: str) -> int:
    """A search parameter naming one resource by a whole-number id: <Type>/<id> or <id>."""
    pk = ascii_int(raw.removeprefix(f"{resource_type}/"))
    if pk is None:
        raise invalid_value(f"{name} must be {resource_type}/<id> or <id>.", name)
    return pk


def require_patient(query: QueryDict, what: str) -> None:
    """Staff search one patient's resources at a time (each is opened through the access door)."""
    if "patient" not in query:
        raise FHIRError(f"Search {what} of one patient: add patient=Patient/<id>.", code="required")


# --- Location ids ---------------------------------------------------------------------------------

# A Location is one of five tables; its id says which: "site-1", "ward-3", "bay-2", "bed-5", "clinic-4".
LOCATION_KINDS = ("site", "ward", "bay", "bed", "clinic")


def location_id(kind: str, pk: int) -> str:
    return f"{kind}-{pk}"


def parse_location_id(raw: str) -> tuple[str, int] | None:
    """(kind, row id) of a Location id, or None when it names none."""
    kind, dash, number = raw.partition("-")
    pk = ascii_int(number) if dash else None
    return (kind, pk) if kind in LOCATION_KINDS and pk is not None else None


def location_reference(kind: str, pk: int, display: str | None = None) -> dict[str, str | None]:
    return {"reference": f"Location/{location_id(kind, pk)}", "display": display}


def location_param(raw: str, name: str) -> tuple[str, int]:
    """A search parameter naming a Location: Location/<kind>-<id> or <kind>-<id>."""
    parsed = parse_location_id(raw.removeprefix("Location/"))
    if parsed is None:
        raise invalid_value(
            f"{name} must be Location/<id>, an id such as ward-3, bay-2, bed-5, site-1 or clinic-4.", name
        )
    return parsed
