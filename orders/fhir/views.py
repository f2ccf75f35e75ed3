"""FHIR R4 API for DiagnosticReport (laboratory results, with their values contained): read and search
only. Thin, like prescribing's and records' clinical views.

Results are a patient's: staff need clinical access (a care relationship, or break-glass taken in the
record pages) and a role that sees results (orders.view_resultreport); system clients need the
system/DiagnosticReport or system/* read scope. Every call is audited, refusals included. A report not
filed to a patient (waiting in the unmatched queue, or rejected) is never served.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError
from epr.fhir.resources import search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.views import Caller, FHIRView, refused
from epr.parsing import ascii_int
from orders.fhir import reports as fhir
from records.fhir.clinical_search import ClinicalSearch, parse_search
from records.fhir.common import audit_search
from records.fhir.views.observations import clinical_access, get_patient_or_404, keep_search_parameters
from records.models import Patient

SEES_RESULTS = "orders.view_resultreport"
NOUN = "diagnostic_reports"  # the audit detail key a search names its reports by


def open_results(caller: Caller, patient: Patient) -> str:
    """Refuse staff without clinical access to the patient, or whose role does not see results (both
    audited); returns any break-glass reason."""
    reason = clinical_access(caller, patient)
    if not caller.is_system and not caller.user.has_perm(SEES_RESULTS):
        audit_record(user=caller.user, action=Action.DENIED, patient_id=patient.pk)
        raise refused("Your role does not see results.")
    return reason


def _searchset(view: FHIRView, entries: list[dict[str, Any]], total: int, search: ClinicalSearch) -> Response:
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


class DiagnosticReportTypeView(FHIRView):
    """GET /DiagnosticReport (search)."""

    resource_type = "DiagnosticReport"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        search = parse_search(
            bounded_query(request.query_params), fhir.REPORT_SEARCH, patient_required=not caller.is_system
        )
        reason = ""
        if search.patient_id is not None:
            reason = open_results(caller, get_patient_or_404(search.patient_id))
        page = fhir.report_page(search)
        audit_search(caller.user, search, fhir.found(page.items), noun=NOUN, reason=reason)
        return _searchset(self, [fhir.report_entry(r) for r in page.items], page.total, search)


class DiagnosticReportInstanceView(FHIRView):
    """GET /DiagnosticReport/<id> (read)."""

    resource_type = "DiagnosticReport"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        pk = ascii_int(id)
        report = fhir.reports().select_related("patient").filter(pk=pk).first() if pk is not None else None
        if report is None or report.patient is None:
            raise FHIRError(f"DiagnosticReport/{id} is not known.", status_code=404, code="not-found")
        reason = open_results(caller, report.patient)
        audit_record(
            user=caller.user,
            action=Action.VIEW,
            patient_id=report.patient_id,
            obj=report,
            break_glass_reason=reason,
        )
        return Response(validated(fhir.report_entry(report)))
