"""FHIR R4 API for Medication, MedicationRequest and MedicationAdministration: read and search only.
Thin, like records' clinical views.

Medication is the catalogue, not patient data: any signed-in member of staff may read it, and a system
client with a system/Medication or system/* read scope; each read and search is audited without a
patient. Prescriptions and doses are a patient's: staff need clinical access (a care relationship, or
break-glass taken in the record pages) and a role that sees medicines (the drug chart's permission);
system clients need the type's scope. Every call is audited, refusals included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError
from epr.fhir.resources import etag, search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.views import Caller, FHIRView, refused
from epr.parsing import ascii_int
from prescribing.fhir import medications as fhir
from records.fhir.clinical_search import ClinicalSearch, SearchSpec, parse_search
from records.fhir.common import audit_search
from records.fhir.views.observations import clinical_access, get_patient_or_404, keep_search_parameters
from records.models import Patient

SEES_MEDICINES = "prescribing.view_prescription"  # the drug chart's, which shows prescriptions and doses


def _not_found(resource_type: str, id: str) -> FHIRError:
    return FHIRError(f"{resource_type}/{id} is not known.", status_code=404, code="not-found")


def _row(rows: QuerySet[Any], id: str) -> Any:
    pk = ascii_int(id)
    return rows.filter(pk=pk).first() if pk is not None else None


def open_medicines(caller: Caller, patient: Patient) -> str:
    """Refuse staff without clinical access to the patient, or whose role does not see medicines (both
    audited); returns any break-glass reason."""
    reason = clinical_access(caller, patient)
    if not caller.is_system and not caller.user.has_perm(SEES_MEDICINES):
        audit_record(user=caller.user, action=Action.DENIED, patient_id=patient.pk)
        raise refused("Your role does not see medicines.")
    return reason


def searchset(
    view: FHIRView, entries: list[dict[str, Any]], total: int, search: fhir.MedicationSearch | ClinicalSearch
) -> Response:
    """The page as a validated searchset Bundle, its links keeping the parameters as sent."""
    bundle = search_bundle(
        base_url=view.base_url(),
        path=f"/{view.resource_type}",
        params={},
        entries=entries,
        total=total,
        offset=search.offset,
        count=search.count,
    )
    return Response(validated(keep_search_parameters(bundle, search.params)))


# --- Medication -----------------------------------------------------------------------------------


class MedicationTypeView(FHIRView):
    """GET /Medication (search the catalogue)."""

    resource_type = "Medication"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        search = fhir.parse_medication_search(bounded_query(request.query_params))
        page = fhir.medication_page(search)
        audit_record(
            user=caller.user,
            action=Action.SEARCH,
            detail={"criteria": search.criteria, "medications": [str(vmp.pk) for vmp in page.items]},
        )
        detail = fhir.catalogue_detail(page.items)
        entries = [fhir.medication_entry(vmp, detail) for vmp in page.items]
        return searchset(self, entries, page.total, search)


class MedicationInstanceView(FHIRView):
    """GET /Medication/<id> (read)."""

    resource_type = "Medication"

    def get(self, request: Request, id: str) -> Response:
        vmp = _row(fhir.medications(), id)
        if vmp is None:
            raise _not_found(self.resource_type, id)
        audit_record(user=self.caller().user, action=Action.VIEW, obj=vmp)
        return Response(validated(fhir.medication_entry(vmp, fhir.catalogue_detail([vmp]))))


# --- A patient's prescriptions and doses ----------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One patient resource type: its rows (with what a page of them needs), its search and shape."""

    resource_type: str
    noun: str  # plural, for the audit rows
    rows: Callable[[], QuerySet[Any]]
    order_column: str  # what _sort=date sorts by
    search: SearchSpec
    entry: Callable[[Any], dict[str, Any]]
    versioned: bool


REQUESTS = Kind(
    resource_type="MedicationRequest",
    noun="prescriptions",
    rows=fhir.prescriptions,
    order_column="prescribed_at",
    search=fhir.REQUEST_SEARCH,
    entry=fhir.request_entry,
    versioned=True,
)
ADMINISTRATIONS = Kind(
    resource_type="MedicationAdministration",
    noun="administrations",
    rows=fhir.administrations,
    order_column="at",
    search=fhir.ADMINISTRATION_SEARCH,
    entry=fhir.administration_entry,
    versioned=False,
)


class PatientMedicinesTypeView(FHIRView):
    """GET /<type> (search)."""

    kind: Kind

    def get(self, request: Request) -> Response:
        kind, caller = self.kind, self.caller()
        search = parse_search(
            bounded_query(request.query_params), kind.search, patient_required=not caller.is_system
        )
        reason = ""
        if search.patient_id is not None:
            reason = open_medicines(caller, get_patient_or_404(search.patient_id))
        page = fhir.patient_page(kind.rows(), search, kind.order_column)
        audit_search(caller.user, search, fhir.found(page.items), noun=kind.noun, reason=reason)
        return searchset(self, [kind.entry(row) for row in page.items], page.total, search)


class PatientMedicinesInstanceView(FHIRView):
    """GET /<type>/<id> (read)."""

    kind: Kind

    def get(self, request: Request, id: str) -> Response:
        kind, caller = self.kind, self.caller()
        row = _row(kind.rows(), id)
        if row is None:
            raise _not_found(kind.resource_type, id)
        reason = open_medicines(caller, row.patient)
        audit_record(
            user=caller.user,
            action=Action.VIEW,
            patient_id=row.patient_id,
            obj=row,
            break_glass_reason=reason,
        )
        response = Response(validated(kind.entry(row)))
        if kind.versioned:
            response["ETag"] = etag(row.version)
        return response


class MedicationRequestTypeView(PatientMedicinesTypeView):
    resource_type = "MedicationRequest"
    kind = REQUESTS


class MedicationRequestInstanceView(PatientMedicinesInstanceView):
    resource_type = "MedicationRequest"
    kind = REQUESTS


class MedicationAdministrationTypeView(PatientMedicinesTypeView):
    resource_type = "MedicationAdministration"
    kind = ADMINISTRATIONS


class MedicationAdministrationInstanceView(PatientMedicinesInstanceView):
    resource_type = "MedicationAdministration"
    kind = ADMINISTRATIONS
