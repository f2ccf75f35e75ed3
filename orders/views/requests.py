"""Ordering pages: a patient's orders, choosing tests or an order set, the order form with its
questions and warnings, one order's life (specimen collected, label, cancel, what was sent and the
department's answer), a ward's outstanding orders and a requester's own."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from epr.audit.context import Channel
from epr.audit.models import Action
from epr.audit.services import audit_record
from epr.parsing import ascii_int
from orders.documents import specimen_label_pdf
from orders.forms import CancelForm, OrderForm
from orders.models import Order, OrderSet, SendState, Specimen
from orders.rules.checks import CONTRAST_ALLERGY, GADOLINIUM_ALLERGY, MR_UNSAFE_DEVICE, YES
from orders.selectors import requests as selectors
from orders.services import outbound
from orders.services import requests as services
from records.access import Level, patients_with_care_relationship
from records.errors import RecordError
from records.selectors import patients as patient_selectors
from records.selectors import wards as ward_selectors
from records.selectors.patients import PatientView
from records.views.base import patient_page, posted_version, refusal_on_form, require_perm

MAX_TESTS = 20


@patient_page(minimum=Level.CLINICAL)
def patient_orders(request: HttpRequest, opened: PatientView) -> HttpResponse:
    require_perm(request, "orders.view_order", "Your role does not see orders.")
    return render(
        request,
        "orders/patient_orders.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "orders": selectors.patient_orders(opened.patient),
            "order_sets": selectors.order_sets(),
        },
    )


def _chosen(request: HttpRequest) -> tuple[list[Any], OrderSet | None]:
    """The tests chosen: those ticked on the form (a test of a set can be unticked), or on first
    opening a set, all its tests."""
    posted = request.method == "POST"
    source = request.POST if posted else request.GET
    order_set = None
    codes = [c for c in source.getlist("tests") if c][:MAX_TESTS]
    if source.get("set"):
        order_set = selectors.order_sets().filter(code=source["set"]).first()
        if order_set is not None and not codes and not posted:
            codes = [item.test.code for item in order_set.items.all()]
    return selectors.tests_with_questions(codes), order_set


def _prefill(opened: PatientView, tests: list[Any]) -> dict[str, str]:
    """Answers the record already gives: clinical details from active problems, a recorded contrast
    allergy, an implanted device (the requester sees them and can change them)."""
    problems = selectors.active_problem_names(opened.patient)
    allergies = selectors.allergy_names(opened.patient)
    initial: dict[str, str] = {}
    if problems:
        initial["clinical_details"] = "Active problems: " + "; ".join(problems[:6])
    for test in tests:
        pattern = GADOLINIUM_ALLERGY if test.contrast == "gadolinium" else CONTRAST_ALLERGY
        if test.contrast and any(pattern.search(a) for a in allergies):
            initial[f"q__{test.code}__contrast-allergy"] = YES
        if test.modality == "MR" and any(MR_UNSAFE_DEVICE.search(p) for p in problems):
            initial[f"q__{test.code}__implants"] = "Yes, not known to be MR safe"
    return initial


@patient_page(minimum=Level.CLINICAL)
def order_new(request: HttpRequest, opened: PatientView) -> HttpResponse:
    """Choose tests (search, or an order set), then the order form; warnings shown at once and
    again on placing, each needing a reason."""
    require_perm(request, "orders.add_order", "Your role does not order tests.")
    tests, order_set = _chosen(request)
    if not tests:
        if request.method == "POST":
            messages.error(request, "No test was ticked: choose at least one test to order.")
        return _choose_page(request, opened)
    questions = {t.code: services.asked_questions(opened.patient, t) for t in tests}
    pending = services.warnings_for(opened.patient, tests, now=timezone.now())
    form = OrderForm(
        request.POST if request.method == "POST" else None,
        tests=tests,
        questions=questions,
        pending=pending,
        initial=_prefill(opened, tests),
    )
    if request.method == "POST" and form.is_valid():
        try:
            placed = services.orders_place(
                requested_by=request.user,
                patient=opened.patient,
                tests=tests,
                order_set=order_set,
                priority=form.cleaned_data["priority"],
                requested_for=form.requested_for(),
                clinical_details=form.cleaned_data["clinical_details"],
                notes=form.cleaned_data["notes"],
                answers=form.answers(),
                reasons=form.reasons(),
            )
        except services.WarningsNeedReasons as exc:
            pending = exc.pending
            form = OrderForm(request.POST, tests=tests, questions=questions, pending=pending)
            form.is_valid()
            for item in pending:
                if not form.reasons().get(item.key):
                    form.add_error(
                        f"reason__{item.key}", "Give a reason to order despite this, or remove the test."
                    )
        except RecordError as exc:
            _refusal(form, exc)
        else:
            names = ", ".join(o.test.name for o in placed)
            messages.success(request, f"Ordered: {names}. Sent to the department.")
            return redirect("orders:patient_orders", opened.patient.pk)
    return render(
        request,
        "orders/order_form.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "form": form,
            "tests": tests,
            "order_set": order_set,
            "pending": pending,
            "contrast": any(t.contrast for t in tests),
        },
    )


def _refusal(form: OrderForm, exc: RecordError) -> None:
    if not exc.errors:
        refusal_on_form(form, exc)
        return
    for key, message in exc.errors.items():
        form.add_error(form.field_for_refusal(key) or (key if key in form.fields else None), message)


def _choose_page(request: HttpRequest, opened: PatientView) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    return render(
        request,
        "orders/order_choose.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "query": query,
            "matches": selectors.orderable_tests(query, role=getattr(request.user, "role", ""))[:60],
            "order_sets": selectors.order_sets(),
        },
    )


def _order_of(opened: PatientView, order_id: int) -> Order:
    try:
        order = selectors.order_detail(order_id)
    except Order.DoesNotExist:
        order = None
    if order is None or order.patient_id != opened.patient.pk:
        raise PermissionDenied("That order is not this patient's.")
    return order


@patient_page(minimum=Level.CLINICAL)
def order_detail(request: HttpRequest, opened: PatientView, order_id: int) -> HttpResponse:
    require_perm(request, "orders.view_order", "Your role does not see orders.")
    order = _order_of(opened, order_id)
    return render(
        request,
        "orders/order_detail.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "order": order,
            "specimen": getattr(order, "specimen", None),
            "cancel_form": CancelForm(initial={"version": order.version}),
            "now": timezone.now(),
        },
    )


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def specimen_collect(request: HttpRequest, opened: PatientView, order_id: int) -> HttpResponse:
    require_perm(request, "orders.collect_specimen", "Your role does not record specimens.")
    order = _order_of(opened, order_id)
    try:
        services.specimen_collect(order=order, by=request.user)
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Specimen for {order.test.name} recorded as collected.")
    if request.POST.get("back") == "ward":
        return redirect("orders:ward_orders")
    return redirect("orders:order_detail", opened.patient.pk, order.pk)


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def order_cancel(request: HttpRequest, opened: PatientView, order_id: int) -> HttpResponse:
    require_perm(request, "orders.change_order", "Your role does not cancel orders.")
    order = _order_of(opened, order_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.order_cancel(
                order=order,
                by=request.user,
                reason=form.cleaned_data["reason"],
                version=posted_version(request),
            )
        except RecordError as exc:
            refusal_on_form(form, exc)
        else:
            messages.success(
                request, f"{order.test.name} ({order.number}) cancelled; the department is told."
            )
            return redirect("orders:order_detail", opened.patient.pk, order.pk)
    return render(
        request,
        "orders/order_detail.html",
        {
            "opened": opened,
            "patient": opened.patient,
            "order": order,
            "specimen": getattr(order, "specimen", None),
            "cancel_form": form,
            "now": timezone.now(),
        },
        status=400,
    )


@patient_page(minimum=Level.CLINICAL)
def specimen_label(request: HttpRequest, opened: PatientView, order_id: int) -> HttpResponse:
    require_perm(request, "orders.view_order", "Your role does not see orders.")
    order = _order_of(opened, order_id)
    specimen = get_object_or_404(
        Specimen.objects.select_related("order__test", "order__patient"), order=order
    )
    copies = ascii_int(request.GET.get("copies", "1"), maximum=6) or 1
    pdf = specimen_label_pdf(specimen, copies=copies)
    services.labels_printed(specimen=specimen, by=request.user)
    audit_record(
        user=request.user,
        action=Action.EXPORT,
        patient_id=opened.patient.pk,
        obj=specimen,
        channel=Channel.EXPORT,
        detail={"document": "specimen label", "copies": copies},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{order.number}.pdf"'
    return response


@require_POST
@patient_page(minimum=Level.CLINICAL, action=Action.UPDATE)
def order_resend(request: HttpRequest, opened: PatientView, order_id: int) -> HttpResponse:
    """Try a failed send again now (it is retried anyway; the ward need not wait)."""
    require_perm(request, "orders.add_order", "Your role does not send orders.")
    order = _order_of(opened, order_id)
    waiting = [m for m in order.messages.all() if m.state == SendState.FAILED]
    for message in waiting:
        try:
            outbound.message_send(message_id=message.pk)
        except outbound.SendFailed as exc:
            messages.error(request, f"Still not sent: {exc}")
            break
    else:
        if waiting:
            messages.success(request, "Sent to the department.")
    return redirect("orders:order_detail", opened.patient.pk, order.pk)


@login_required
def ward_orders(request: HttpRequest, ward_id: int | None = None) -> HttpResponse:
    """A ward's outstanding orders: what has not reached the department first, then the most urgent,
    then what still needs a specimen taken."""
    if not request.user.has_perm("orders.view_order"):
        raise PermissionDenied("Your role does not see orders.")
    wards = ward_selectors.wards_to_choose(request.user)
    ward_id = ward_id or ascii_int(request.GET.get("ward", ""))
    own = {w.pk for w in ward_selectors.wards_for_user(request.user)}
    if ward_id:
        ward = next((w for w in wards if w.pk == ward_id), None)
        if ward is None:
            raise PermissionDenied("You do not work on that ward.")
    else:
        ward = next((w for w in wards if w.pk in own), wards[0] if wards else None)
    rows: list[selectors.OutstandingRow] = []
    beds: dict[int, str] = {}
    if ward is not None:
        stays = [r.stay for r in ward_selectors.ward_list(ward) if r.stay]
        shown = [s.encounter.patient for s in stays]
        cared = patients_with_care_relationship(request.user, shown)
        visible = [p for p in shown if p.pk in cared]
        beds = {s.encounter.patient_id: (s.bed.label if s.bed else "No bed") for s in stays}
        rows = selectors.outstanding_for(visible)
        patient_selectors.audit_list_shown(
            request.user,
            listing=f"outstanding orders {ward.code}",
            patient_ids=sorted({r.order.patient_id for r in rows}),
        )
    return render(
        request,
        "orders/ward_orders.html",
        {"wards": wards, "ward": ward, "rows": rows, "beds": beds, "now": timezone.now()},
    )


@login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    """The requester's own orders: outstanding, and resulted but not yet acknowledged."""
    if not request.user.has_perm("orders.add_order"):
        raise PermissionDenied("Your role does not order tests.")
    outstanding, resulted = selectors.requester_orders(request.user)
    cared = patients_with_care_relationship(request.user, [o.patient for o in [*outstanding, *resulted]])
    outstanding = [o for o in outstanding if o.patient_id in cared]
    resulted = [o for o in resulted if o.patient_id in cared]
    patient_selectors.audit_list_shown(
        request.user,
        listing="my orders",
        patient_ids=sorted({o.patient_id for o in [*outstanding, *resulted]}),
    )
    return render(request, "orders/my_orders.html", {"outstanding": outstanding, "resulted": resulted})
