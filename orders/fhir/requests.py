"""FHIR R4 ServiceRequest and Specimen (UK Core shapes), read-only, from the orders placed in the EPR:
their capabilities, the ServiceRequest search, and both resources.

The ServiceRequest id is the Order's row id, the Specimen id the Specimen's. An order is the request
for one test; its identifier is the placer order number (settings.EPR_ORDER_NUMBER_SYSTEM) and, once
the department has answered, its filler number. Orders placed together (one ordering decision, the
same requester at the same moment) share a requisition: the number of the first of them. Each search
page is a constant number of queries, however many orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from epr.fhir.errors import invalid_value
from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, codeable_concept, instant, reference_id
from epr.fhir.search import SearchPage
from orders.fhir.reports import (
    IDENTIFIER_TYPE,
    LOINC,
    filler_number_system,
    placer_number_system,
    trust_system,
)
from orders.models import Department, Order, OrderStatus, Specimen, TestQuestion
from records.fhir.clinical_search import NOTHING, ClinicalSearch, SearchSpec
from records.fhir.common import DEFAULT_COUNT, MAX_COUNT

REQUEST_PROFILE = f"{UK_CORE}UKCore-ServiceRequest"
SPECIMEN_PROFILE = f"{UK_CORE}UKCore-Specimen"
SNOMED = "http://snomed.info/sct"
REQUEST_STATUS = "http://hl7.org/fhir/request-status"
REQUEST_PRIORITY = "http://hl7.org/fhir/request-priority"
ORDER = "order"

# The order's journey as FHIR's request statuses: every step before the final result is "active".
STATUSES: dict[str, str] = {
    OrderStatus.PLACED: "active",
    OrderStatus.SENT: "active",
    OrderStatus.RECEIVED: "active",
    OrderStatus.COLLECTED: "active",
    OrderStatus.IN_PROGRESS: "active",
    OrderStatus.PARTIAL: "active",
    OrderStatus.FINAL: "completed",
    OrderStatus.CORRECTED: "completed",
    OrderStatus.CANCELLED: "revoked",
}

# The kind of procedure each department does, as UK Core's examples categorise a ServiceRequest.
LABORATORY = ("108252007", "Laboratory procedure")
IMAGING = ("363679005", "Imaging")
DIAGNOSTIC = ("103693007", "Diagnostic procedure")
CATEGORIES = {
    **dict.fromkeys(Department.laboratory(), LABORATORY),
    Department.RADIOLOGY: IMAGING,
    Department.CARDIOLOGY: DIAGNOSTIC,
}


def order_code_system() -> str:
    """The trust's own order codes (the catalogue's, sent in OBR-4)."""
    return trust_system("order-code")


def requisition_system() -> str:
    """The orders placed together, named by the number of the first of them."""
    return trust_system("placer-group-number")


def order_number_systems() -> tuple[str, ...]:
    """The systems an order number is sent with: the ServiceRequest's, and the DiagnosticReport's
    placer identifier (which names the same number)."""
    return (settings.EPR_ORDER_NUMBER_SYSTEM, placer_number_system())


REQUEST_CAPABILITY = Capability(
    profile=REQUEST_PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff"),
        SearchParam("status", "token", "active, completed or revoked"),
        SearchParam(
            "category",
            "token",
            f"{SNOMED}|{LABORATORY[0]} (laboratory), {IMAGING[0]} (imaging) or {DIAGNOSTIC[0]} (cardiology)",
        ),
        SearchParam(
            "code",
            "token",
            f"The test: SNOMED CT as {SNOMED}|<code>, LOINC as {LOINC}|<code>, the trust's order code as "
            f"{order_code_system()}|<code>, or a code alone",
        ),
        SearchParam("authored", "date", "When ordered, with ge, le, gt, lt or eq; repeat for a range"),
        SearchParam(
            "requisition", "token", f"The orders placed together: {requisition_system()}|<number> or <number>"
        ),
        SearchParam(
            "identifier",
            "token",
            f"The order number as {settings.EPR_ORDER_NUMBER_SYSTEM}|<number>, the department's number "
            f"as {filler_number_system()}|<number>, or a number alone",
        ),
        SearchParam("_sort", "string", "-date (most recently ordered first, the default) or date"),
        SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
        SearchParam("_offset", "number", "Index of the first result on the page"),
    ),
)

SPECIMEN_CAPABILITY = Capability(profile=SPECIMEN_PROFILE, interactions=("read",))


# --- ServiceRequest -------------------------------------------------------------------------------


def _identifier(system: str, code: str, display: str, value: str) -> dict[str, Any]:
    return {"type": codeable_concept((IDENTIFIER_TYPE, code, display)), "system": system, "value": value}


def _identifiers(o: Order) -> list[dict[str, Any]]:
    found = [_identifier(settings.EPR_ORDER_NUMBER_SYSTEM, "PLAC", "Placer Identifier", o.number)]
    if o.filler_number:
        found.append(_identifier(filler_number_system(), "FILL", "Filler Identifier", o.filler_number))
    return found


def _code(o: Order) -> dict[str, Any]:
    """SNOMED CT and LOINC as the catalogue maps the test (displays are the trust's words, not the
    code systems' terms, so they are on the local coding only), and the trust's own code."""
    test = o.test
    codings = [{"system": SNOMED, "code": test.snomed_code}] if test.snomed_code else []
    if test.loinc_code:
        codings.append({"system": LOINC, "code": test.loinc_code})
    codings.append({"system": order_code_system(), "code": test.code, "display": test.name})
    return {"coding": codings, "text": test.name}


def _category(o: Order) -> list[dict[str, Any]]:
    code, display = CATEGORIES.get(o.test.department, DIAGNOSTIC)
    return [codeable_concept((SNOMED, code, display))]


def _encounter(o: Order) -> dict[str, Any] | None:
    # There is no Encounter resource yet: a logical reference the trust's systems can join on.
    if o.encounter is None:
        return None
    admitted = timezone.localtime(o.encounter.admitted_at)
    return {
        "type": "Encounter",
        "identifier": {"system": trust_system("encounter"), "value": str(o.encounter_id)},
        "display": f"Admission of {admitted:%d-%b-%Y}",
    }


def _notes(o: Order) -> list[dict[str, str]]:
    """The requester's notes, each question's answer ("Question: answer"; R4 has no element for a
    questionnaire's answers short of a QuestionnaireResponse) and, for a cancelled order, why."""
    asked = {q.key: q.text for q in o.test.questions.all()}
    notes = [o.notes] if o.notes else []
    notes += [f"{asked.get(key, key)}: {answer}" for key, answer in o.answers.items() if answer]
    if o.status == OrderStatus.CANCELLED and o.cancel_reason:
        # R4 ServiceRequest has no statusReason.
        notes.append(f"Cancelled: {o.cancel_reason}")
    return [{"text": text} for text in notes]


def _specimen(o: Order) -> list[dict[str, str]]:
    specimen = getattr(o, "specimen", None)  # only laboratory orders have one
    return [{"reference": f"Specimen/{specimen.pk}"}] if specimen is not None else []


def _requisition(o: Order) -> str:
    return getattr(o, "requisition", None) or o.number  # annotated by orders()


def request_entry(o: Order) -> dict[str, Any]:
    """The ServiceRequest, unvalidated (a Bundle is validated as a whole). The order comes from
    orders(), with its test's questions, requester, encounter, specimen and requisition."""
    return {
        "resourceType": "ServiceRequest",
        "id": str(o.pk),
        "meta": {"profile": [REQUEST_PROFILE]},
        "identifier": _identifiers(o),
        "requisition": _identifier(requisition_system(), "PGN", "Placer Group Number", _requisition(o)),
        "status": STATUSES.get(o.status, "unknown"),
        "intent": ORDER,
        "category": _category(o),
        "priority": o.priority,
        "code": _code(o),
        "subject": {"reference": f"Patient/{o.patient_id}"},
        "encounter": _encounter(o),
        "occurrenceDateTime": instant(timezone.localtime(o.requested_for)),
        "authoredOn": instant(timezone.localtime(o.requested_at)),
        "requester": {"type": "Practitioner", "display": str(o.requested_by)},
        "reasonCode": [{"text": o.clinical_details}] if o.clinical_details else None,
        "specimen": _specimen(o),
        "note": _notes(o),
    }


def _placed_together() -> QuerySet[Order]:
    """The orders of one ordering decision (orders_place stamps them with one moment)."""
    return Order.objects.filter(
        patient=OuterRef("patient"),
        requested_by=OuterRef("requested_by"),
        requested_at=OuterRef("requested_at"),
    )


def orders() -> QuerySet[Order]:
    """Every order, with what its ServiceRequest shows (one more query for a page's questions)."""
    first = _placed_together().order_by("number").values("number")[:1]
    return (
        Order.objects.select_related("test", "requested_by", "encounter", "specimen")
        .prefetch_related(
            Prefetch("test__questions", queryset=TestQuestion.objects.order_by("position", "pk"))
        )
        .annotate(requisition=Subquery(first))
    )


# --- Search ---------------------------------------------------------------------------------------


def _token(token: str) -> tuple[str, str]:
    system, bar, value = token.partition("|")
    return (system, value) if bar else ("", token)


def _status_q(code: str) -> Q:
    statuses = [status for status, fhir in STATUSES.items() if fhir == code]
    return Q(status__in=statuses) if statuses else NOTHING


def _category_q(code: str) -> Q:
    departments = [department for department, (snomed, _) in CATEGORIES.items() if snomed == code]
    return Q(test__department__in=departments) if departments else NOTHING


def _code_q(token: str) -> Q:
    system, code = _token(token)
    if not code:
        return NOTHING
    by_system = {
        SNOMED: Q(test__snomed_code=code),
        LOINC: Q(test__loinc_code=code),
        order_code_system(): Q(test__code=code),
        "": Q(test__snomed_code=code) | Q(test__loinc_code=code) | Q(test__code=code),
    }
    return by_system.get(system, NOTHING)


def _identifier_q(token: str) -> Q:
    system, value = _token(token)
    if not value:
        return NOTHING
    if system in order_number_systems():
        return Q(number=value)
    by_system = {filler_number_system(): Q(filler_number=value), "": Q(number=value) | Q(filler_number=value)}
    return by_system.get(system, NOTHING)


def _requisition_q(token: str) -> Q:
    system, value = _token(token)
    if not value or system not in ("", requisition_system()):
        return NOTHING
    # The orders placed with the named one (the number of any of them finds the whole requisition).
    return Q(Exists(_placed_together().filter(number=value)))


REQUEST_SEARCH = SearchSpec(
    resource_type="ServiceRequest",
    tokens={
        "status": (REQUEST_STATUS, _status_q),
        "category": (SNOMED, _category_q),
        "code": (None, _code_q),
        "identifier": (None, _identifier_q),
        "requisition": (None, _requisition_q),
    },
    instants={"authored": "requested_at"},
)


def request_page(search: ClinicalSearch) -> SearchPage[Order]:
    """One page of the matching orders, by when ordered, in three queries (a count, the page, its tests'
    questions)."""
    matching = orders().filter(search.where)
    if search.patient_id is not None:
        matching = matching.filter(patient_id=search.patient_id)
    total = matching.count()
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    order = ("-requested_at", "-pk") if search.newest_first else ("requested_at", "pk")
    return SearchPage(
        total=total, items=list(matching.order_by(*order)[search.offset : search.offset + search.count])
    )


def found(rows: Iterable[Order]) -> list[tuple[int, str]]:
    """(patient id, resource id) of each order, for the search's audit rows."""
    return [(row.patient_id, str(row.pk)) for row in rows]


def service_request_id(reference: str, element: str) -> int:
    """The order a reference names: ServiceRequest/<id> (or <id>, in a search)."""
    value = reference_id(reference, "ServiceRequest", bare_id=True)
    if value is None:
        raise invalid_value(f"{element} must be ServiceRequest/<id>.", element)
    return value


# --- Specimen -------------------------------------------------------------------------------------


def _specimen_status(s: Specimen) -> str:
    # Available once taken, unless the order was cancelled (the ward is told not to send it).
    return "available" if s.collected_at and s.order.status != OrderStatus.CANCELLED else "unavailable"


def specimen_entry(s: Specimen) -> dict[str, Any]:
    """The Specimen, from specimens(): labelled with its order's number."""
    coding = [(SNOMED, s.type_snomed, s.type)] if s.type_snomed else []
    collection = None
    if s.collected_at:
        collector = {"type": "Practitioner", "display": str(s.collected_by)} if s.collected_by else None
        collection = {
            "collector": collector,
            "collectedDateTime": instant(timezone.localtime(s.collected_at)),
        }
    return {
        "resourceType": "Specimen",
        "id": str(s.pk),
        "meta": {"profile": [SPECIMEN_PROFILE]},
        "identifier": [{"system": settings.EPR_ORDER_NUMBER_SYSTEM, "value": s.order.number}],
        "status": _specimen_status(s),
        "type": codeable_concept(*coding, text=s.type),
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "request": [{"reference": f"ServiceRequest/{s.order_id}"}],
        "collection": collection,
        "container": [{"description": s.container}] if s.container else None,
    }


def specimens() -> QuerySet[Specimen]:
    return Specimen.objects.select_related("order", "patient", "collected_by")
