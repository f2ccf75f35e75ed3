"""The results interface for pathology and radiology systems: POST /hl7/v2 takes one HL7 v2 ORU^R01
in ER7 from a system client with the system/DiagnosticReport.write scope (or system/*.write) and
answers with the ACK (AA filed, AE try again, AR rejected), also in ER7. Whatever the body, the
answer is an ACK, never a 500. And the patient's results page, where results are acknowledged."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.fhir.views import system_token
from orders.models import AckAction, ResultReport
from orders.selectors import results as selectors
from orders.services import results as services
from records.access import Level
from records.errors import RecordError
from records.selectors.patients import PatientView
from records.views.base import patient_page

ER7 = "x-application/hl7-v2+er7"
WRITE_SCOPES = frozenset({"system/DiagnosticReport.write", "system/*.write"})
MAX_BYTES = 2_000_000


class ER7Parser(BaseParser):
    """The body as text, whatever it says it is (senders label ER7 as text/plain, or not at all)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read(MAX_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BYTES:
            return ""
        return raw.decode("utf-8", errors="replace")


class ER7Renderer(BaseRenderer):
    media_type = ER7
    format = "er7"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, str):
            return data.encode()
        detail = data.get("detail") if isinstance(data, dict) else data
        return str(detail or data).encode()


class WritingResultsClient(BasePermission):
    message = "Results are accepted from a system client with the system/DiagnosticReport.write scope."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = system_token(request)
        return token is not None and bool(set(token.scope.split()) & WRITE_SCOPES)


class HL7ResultsView(APIView):
    schema = None  # an HL7 v2 interface, described in docs/hl7.md rather than the OpenAPI schema
    authentication_classes = [OAuth2Authentication]
    permission_classes = [WritingResultsClient]
    parser_classes = [ER7Parser]
    renderer_classes = [ER7Renderer]

    def get_exception_handler(self) -> Any:
        return exception_handler  # refusals answered in text, not as FHIR OperationOutcomes

    def post(self, request: Request) -> Response:
        token = system_token(request)
        client = token.application.name if token is not None and token.application_id else ""
        body = request.data if isinstance(request.data, str) else ""
        answer = services.results_receive(body, channel="http", client=client)
        return Response(answer.ack, status=200, content_type=ER7)


@patient_page(minimum=Level.CLINICAL)
def results(request: HttpRequest, opened: PatientView) -> HttpResponse:
    """The patient's results: those waiting for acknowledgement first, then the cumulative table."""
    return render(
        request,
        "orders/results.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "waiting": selectors.waiting_acknowledgement(opened.patient),
            "table": selectors.cumulative_results(opened.patient),
            "text_reports": selectors.text_reports(opened.patient),
            "actions": AckAction.choices,
        },
    )


@patient_page(minimum=Level.CLINICAL)
def result_trend(request: HttpRequest, opened: PatientView, code: str) -> HttpResponse:
    """One test's values over time: a chart with the reference range, and the values as a table."""
    found = selectors.trend(opened.patient, code[:50])
    if found is None:
        raise Http404("No numeric results of that test for this patient.")
    return render(request, "orders/trend.html", {"opened": opened, "patient": opened.patient, "trend": found})


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def result_acknowledge(request: HttpRequest, opened: PatientView, report_id: int) -> HttpResponse:
    if not request.user.has_perm("orders.acknowledge_resultreport"):
        raise PermissionDenied("Your role does not acknowledge results.")
    report = get_object_or_404(ResultReport, pk=report_id, patient=opened.patient)
    try:
        services.result_acknowledge(
            by=request.user,
            report=report,
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except RecordError as exc:
        messages.error(request, f"{report.name}: {exc.message}")
    else:
        messages.success(request, f"{report.name} acknowledged.")
    return redirect("orders:results", opened.patient.pk)


def _may_file_unmatched(request: HttpRequest) -> None:
    if not request.user.has_perm("orders.file_unmatched_resultreport"):
        raise PermissionDenied("Only the results administrators file unmatched results.")


@login_required
def unmatched(request: HttpRequest) -> HttpResponse:
    _may_file_unmatched(request)
    queue = selectors.unmatched_queue()
    audit_record(
        user=request.user,
        action=Action.LIST,
        patient_id=None,
        detail={"list": "unmatched results", "count": len(queue)},
    )
    return render(request, "orders/unmatched.html", {"queue": queue})


@require_POST
@login_required
def unmatched_decide(request: HttpRequest, report_id: int) -> HttpResponse:
    _may_file_unmatched(request)
    report = get_object_or_404(ResultReport, pk=report_id)
    try:
        if request.POST.get("decision") == "file":
            filed = services.unmatched_file(
                by=request.user, report=report, hospital_number=request.POST.get("hospital_number", "")
            )
            messages.success(
                request, f"{report.name} filed to {filed.patient.display_name if filed.patient else ''}."
            )
        else:
            services.unmatched_reject(by=request.user, report=report, reason=request.POST.get("reason", ""))
            messages.success(request, f"{report.name} rejected.")
    except RecordError as exc:
        messages.error(request, exc.message)
    return redirect("orders:unmatched")
