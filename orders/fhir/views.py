"""FHIR R4 API for the orders app: DiagnosticReport (laboratory results, with their values contained)
read, search and create; ServiceRequest (orders) read and search; Specimen read. Thin, like
prescribing's and records' clinical views.

Results and orders are a patient's: staff need clinical access (a care relationship, or break-glass
taken in the record pages) and a role that sees them (orders.view_resultreport, orders.view_order);
system clients need the type's read scope or system/*.read. Every call is audited, refusals included.
A report not filed to a patient (waiting in the unmatched queue, or rejected) is never served.

A DiagnosticReport is created only by a system client (a laboratory system) with the write scope, and
filed as an HL7 v2 result is (orders.services.results): see docs/fhir.md for the answers.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from epr.audit import context as audit_context
from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.errors import FHIRError, operation_outcome
from epr.fhir.resources import parse_resource, search_bundle, validated
from epr.fhir.search import bounded_query
from epr.fhir.transactions import Outcomes, TransactionContext
from epr.fhir.views import Caller, FHIRView, refused
from epr.parsing import ascii_int
from orders.fhir import reports as fhir
from orders.fhir import reports_in
from orders.fhir import requests as fhir_requests
from orders.models import Filing, ResultReport
from orders.services.results import Answer, results_file
from records.fhir.clinical_search import ClinicalSearch, parse_search
from records.fhir.common import audit_search
from records.fhir.views.observations import clinical_access, get_patient_or_404, keep_search_parameters
from records.models import Patient

SEES_RESULTS = "orders.view_resultreport"
SEES_ORDERS = "orders.view_order"
NOUN = "diagnostic_reports"  # the audit detail key a search names its reports by
REQUEST_NOUN = "service_requests"
CHANNEL = "fhir"  # InboundMessage.channel of a report that came as FHIR


def _open(caller: Caller, patient: Patient, permission: str, refusal: str) -> str:
    reason = clinical_access(caller, patient)
    if not caller.is_system and not caller.user.has_perm(permission):
        audit_record(user=caller.user, action=Action.DENIED, patient_id=patient.pk)
        raise refused(refusal)
    return reason


def open_results(caller: Caller, patient: Patient) -> str:
    """Refuse staff without clinical access to the patient, or whose role does not see results (both
    audited); returns any break-glass reason."""
    return _open(caller, patient, SEES_RESULTS, "Your role does not see results.")


def open_orders(caller: Caller, patient: Patient) -> str:
    """The same for orders and their specimens."""
    return _open(caller, patient, SEES_ORDERS, "Your role does not see orders.")


def _not_found(resource_type: str, id: str) -> FHIRError:
    return FHIRError(f"{resource_type}/{id} is not known.", status_code=404, code="not-found")


def _row(rows: QuerySet[Any], id: str) -> Any:
    pk = ascii_int(id)
    return rows.filter(pk=pk).first() if pk is not None else None


def _audit_read(caller: Caller, row: Model, patient_id: int | None, reason: str) -> None:
    audit_record(
        user=caller.user, action=Action.VIEW, patient_id=patient_id, obj=row, break_glass_reason=reason
    )


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
    """GET /DiagnosticReport (search) and POST /DiagnosticReport (a laboratory system files a report)."""

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

    def post(self, request: Request) -> Response:
        caller = self.caller()
        check_may_file(caller)
        resource = parse_resource(request.data, self.resource_type)
        incoming = reports_in.incoming_report(
            resource, json.dumps(request.data, ensure_ascii=False), sender=_sender(), base_url=self.base_url()
        )
        answer = results_file(
            incoming.message, raw=incoming.raw, channel=CHANNEL, client=_sender(), now=timezone.now()
        )
        report = _filed_report(answer)
        if report.filing == Filing.UNMATCHED:
            return _waiting(report, answer)
        _refuse_rejected(report)
        _audit_filed(report, answer)
        response = Response(validated(fhir.report_entry(report)), status=200 if answer.repeated else 201)
        response["Location"] = f"{self.base_url()}/DiagnosticReport/{report.pk}"
        return response


class DiagnosticReportInstanceView(FHIRView):
    """GET /DiagnosticReport/<id> (read)."""

    resource_type = "DiagnosticReport"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        report = _row(fhir.reports().select_related("patient"), id)
        if report is None or report.patient is None:
            raise _not_found(self.resource_type, id)
        reason = open_results(caller, report.patient)
        _audit_read(caller, report, report.patient_id, reason)
        return Response(validated(fhir.report_entry(report)))


# --- DiagnosticReport create ----------------------------------------------------------------------


def check_may_file(caller: Caller, index: int | None = None) -> None:
    """Reports are filed by a laboratory system (a system client holding the write scope, which the
    permission class checked), never by a member of staff: a result's source is the laboratory."""
    if not caller.is_system:
        where = f"Bundle.entry[{index}]: " if index is not None else ""
        raise refused(
            f"{where}Results are filed by a laboratory system with the system/DiagnosticReport.write scope, "
            "not by a member of staff."
        )


def _sender() -> str:
    # The application the token belongs to (FHIRView.initial put it on the audit context).
    return audit_context.current().api_client or "FHIR client"


# What the results service answers when it cannot file (HL7 ACK codes), as the client is told.
_NOT_FILED = {
    "AR": "The report was not filed: a value is longer than this server keeps (a name over 200 characters, "
    "a unit or reference range over 60, an identifier over 50). Shorten it and send it again.",
    "AE": "The report was not filed: the database refused one of its values. Correct it and send it again.",
}


def _filed_report(answer: Answer) -> ResultReport:
    """The report the service filed (or had filed from the same report before), or the refusal."""
    if answer.code != "AA" or not answer.report_ids:
        raise FHIRError(_NOT_FILED.get(answer.code, _NOT_FILED["AE"]), status_code=422, code="processing")
    report = fhir.reports().filter(pk=answer.report_ids[0]).first()
    return report or ResultReport.objects.get(pk=answer.report_ids[0])


def _refuse_rejected(report: ResultReport) -> None:
    """The same report sent again after a results administrator rejected it from the unmatched queue:
    it stays filed to no one."""
    if report.filing == Filing.REJECTED:
        raise FHIRError(
            "This report was received before and rejected from the unmatched results queue: it is filed "
            "to no record. Ask the results administrators, or send a corrected report.",
            status_code=422,
            code="business-rule",
        )


def _audit_filed(report: ResultReport, answer: Answer) -> None:
    """The API call on the patient's access log: a create, or a read of the report sent before (the
    service's own row records the filing)."""
    action = Action.VIEW if answer.repeated else Action.CREATE
    audit_record(user=None, action=action, patient_id=report.patient_id, obj=report)


def _waiting(report: ResultReport, answer: Answer) -> Response:
    """202: accepted, but the patient did not match, so it waits in the unmatched queue for a person
    to file it, and is no one's record yet (nor readable here)."""
    _audit_filed(report, answer)
    body = operation_outcome(
        f"The report was accepted but not filed to a record: {report.mismatch} It waits in the unmatched "
        "results queue until a results administrator files it to the right patient.",
        code="informational",
        severity="information",
    )
    return Response(body, status=202)


def file_reports(context: TransactionContext, items: list[tuple[int, Any]]) -> Outcomes:
    """A transaction's DiagnosticReports, each filed as a single POST is. A report whose patient does
    not match is refused (422), so the Bundle is not answered "created" for a report no one can read:
    send it on its own, and it waits in the unmatched queue."""
    observations = frozenset(
        str(e.fullUrl)
        for e in context.entries
        if e.fullUrl and e.resource.get_resource_type() == "Observation"
    )
    outcomes: Outcomes = {}
    for index, entry in items:
        try:
            incoming = reports_in.incoming_report(
                entry.resource,
                entry.resource.model_dump_json(exclude_none=True),
                sender=_sender(),
                base_url=context.base_url,
                bundle_patient=context.created_with_full_url,
                bundle_observations=observations,
            )
            answer = results_file(
                incoming.message, raw=incoming.raw, channel=CHANNEL, client=_sender(), now=timezone.now()
            )
            report = _filed_report(answer)
            _refuse_rejected(report)
        except FHIRError as exc:
            raise _in_entry(exc, index) from exc
        if report.filing == Filing.UNMATCHED:
            raise _in_entry(
                FHIRError(
                    f"The patient did not match ({report.mismatch}) Send this report on its own to "
                    "POST /fhir/DiagnosticReport, where it waits in the unmatched queue.",
                    status_code=422,
                    code="business-rule",
                    expression=["DiagnosticReport.subject"],
                ),
                index,
            )
        _audit_filed(report, answer)
        outcomes[index] = (f"DiagnosticReport/{report.pk}", not answer.repeated)
    return outcomes


def _in_entry(error: FHIRError, index: int) -> FHIRError:
    """An entry's error, with the entry named in its words and paths."""
    return FHIRError(
        f"Bundle.entry[{index}]: {error.diagnostics}",
        status_code=error.status_code,
        code=error.code,
        expression=[
            e.replace("DiagnosticReport", f"Bundle.entry[{index}].resource", 1) for e in error.expression
        ]
        or [f"Bundle.entry[{index}]"],
    )


# --- ServiceRequest and Specimen ------------------------------------------------------------------


class ServiceRequestTypeView(FHIRView):
    """GET /ServiceRequest (search)."""

    resource_type = "ServiceRequest"

    def get(self, request: Request) -> Response:
        caller = self.caller()
        search = parse_search(
            bounded_query(request.query_params),
            fhir_requests.REQUEST_SEARCH,
            patient_required=not caller.is_system,
        )
        reason = ""
        if search.patient_id is not None:
            reason = open_orders(caller, get_patient_or_404(search.patient_id))
        page = fhir_requests.request_page(search)
        audit_search(caller.user, search, fhir_requests.found(page.items), noun=REQUEST_NOUN, reason=reason)
        entries = [fhir_requests.request_entry(o) for o in page.items]
        return _searchset(self, entries, page.total, search)


class ServiceRequestInstanceView(FHIRView):
    """GET /ServiceRequest/<id> (read)."""

    resource_type = "ServiceRequest"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        order = _row(fhir_requests.orders().select_related("patient"), id)
        if order is None:
            raise _not_found(self.resource_type, id)
        reason = open_orders(caller, order.patient)
        _audit_read(caller, order, order.patient_id, reason)
        return Response(validated(fhir_requests.request_entry(order)))


class SpecimenTypeView(FHIRView):
    """/Specimen: read only, so no search (each method here answers 405)."""

    resource_type = "Specimen"
    uses_database = False


class SpecimenInstanceView(FHIRView):
    """GET /Specimen/<id> (read)."""

    resource_type = "Specimen"

    def get(self, request: Request, id: str) -> Response:
        caller = self.caller()
        specimen = _row(fhir_requests.specimens(), id)
        if specimen is None:
            raise _not_found(self.resource_type, id)
        reason = open_orders(caller, specimen.patient)
        _audit_read(caller, specimen, specimen.patient_id, reason)
        return Response(validated(fhir_requests.specimen_entry(specimen)))
