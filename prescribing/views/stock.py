"""Ward stock pages: the ward's stock (low first), one product's stock card (the controlled-drug
register for a CD), receipts, disposals and stock checks with a witness for a CD, and pharmacy's
requests to supply."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from epr.parsing import ascii_int
from prescribing import policy
from prescribing.models import StockRequest, WardStock
from prescribing.selectors import stock as selectors
from prescribing.services import stock as services
from records.errors import RecordError
from records.models import Ward
from records.selectors import wards as ward_selectors


def _wards(request: HttpRequest) -> list[Ward]:
    if not request.user.has_perm("prescribing.view_wardstock"):
        raise PermissionDenied("Your role does not see ward stock.")
    return ward_selectors.wards_to_choose(request.user)


@login_required
def ward_stock(request: HttpRequest) -> HttpResponse:
    wards = _wards(request)
    ward_id = ascii_int(request.GET.get("ward", ""))
    ward = next((w for w in wards if w.pk == ward_id), wards[0] if wards and not ward_id else None)
    if ward_id and ward is None:
        raise PermissionDenied("You do not work on that ward.")
    return render(
        request,
        "prescribing/ward_stock.html",
        {"wards": wards, "ward": ward, "stock": selectors.ward_stock(ward) if ward else []},
    )


def _stock_for(request: HttpRequest, stock_id: int) -> WardStock:
    stock = get_object_or_404(WardStock.objects.select_related("vmp", "ward"), pk=stock_id)
    if stock.ward_id not in {w.pk for w in _wards(request)}:
        raise PermissionDenied("You do not work on that ward.")
    return stock


@login_required
def stock_card(request: HttpRequest, stock_id: int) -> HttpResponse:
    stock = _stock_for(request, stock_id)
    return render(
        request,
        "prescribing/stock_card.html",
        {
            "stock": stock,
            "movements": selectors.stock_card(stock),
            "controlled": policy.needs_witness(stock.vmp.controlled_drug_category),
            "cd_schedule": policy.cd_schedule(stock.vmp.controlled_drug_category),
        },
    )


def _quantity(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    # The stock columns hold 9 digits before the point; a count beyond that is a typing slip.
    return value if value.is_finite() and abs(value) < Decimal("1e8") else None


def _posted_witness(request: HttpRequest) -> object | None:
    username = request.POST.get("witness_username", "").strip()
    if not username:
        return None
    witness = authenticate(request, username=username, password=request.POST.get("witness_password", ""))
    if witness is None:
        raise RecordError("The witness's username or password is not right.")
    return witness


@require_POST
@login_required
def stock_move(request: HttpRequest, stock_id: int) -> HttpResponse:
    if not request.user.has_perm("prescribing.add_stockmovement"):
        raise PermissionDenied("Your role may not record stock.")
    stock = _stock_for(request, stock_id)
    kind, quantity = request.POST.get("kind", ""), _quantity(request.POST.get("quantity", ""))
    if quantity is None:
        messages.error(request, "Give the quantity as a number.")
        return redirect("prescribing:stock_card", stock.pk)
    try:
        witness = _posted_witness(request)
        if kind == "receipt":
            services.stock_receive(
                by=request.user,
                stock=stock,
                quantity=quantity,
                batch=request.POST.get("batch", "").strip()[:20],
                witness=witness,
            )
        elif kind == "disposal":
            services.stock_dispose(
                by=request.user,
                stock=stock,
                quantity=quantity,
                reason=request.POST.get("note", ""),
                witness=witness,
            )
        elif kind == "check":
            services.stock_check(
                by=request.user,
                stock=stock,
                counted=quantity,
                reason=request.POST.get("note", ""),
                witness=witness,
            )
        else:
            raise RecordError("Choose what to record.")
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Stock recorded.")
    return redirect("prescribing:stock_card", stock.pk)


@login_required
def stock_requests(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("prescribing.supply_stock"):
        raise PermissionDenied("Only pharmacy supplies ward stock.")
    wards = ward_selectors.wards_to_choose(request.user)
    return render(request, "prescribing/stock_requests.html", {"requests": selectors.open_requests(wards)})


@require_POST
@login_required
def stock_request_supply(request: HttpRequest, request_id: int) -> HttpResponse:
    if not request.user.has_perm("prescribing.supply_stock"):
        raise PermissionDenied("Only pharmacy supplies ward stock.")
    wards = {w.pk for w in ward_selectors.wards_to_choose(request.user)}
    wanted = get_object_or_404(
        StockRequest.objects.select_related("stock__vmp", "stock__ward"), pk=request_id
    )
    if wanted.stock.ward_id not in wards:
        raise PermissionDenied("That ward is not one of yours.")
    try:
        services.stock_supply(by=request.user, request=wanted)
    except RecordError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{wanted.stock.vmp.name} supplied to {wanted.stock.ward.name}.")
    return redirect("prescribing:stock_requests")
