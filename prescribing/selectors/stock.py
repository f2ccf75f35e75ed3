"""Reads of ward stock: a ward's stock list (low first), one product's movements (for a controlled
drug, the ward's CD register page), and pharmacy's open requests, oldest first."""

from __future__ import annotations

from django.db.models import QuerySet

from prescribing.models import StockMovement, StockRequest, StockRequestStatus, WardStock
from records.models import Ward


def ward_stock(ward: Ward) -> list[WardStock]:
    stock = list(WardStock.objects.filter(ward=ward).select_related("vmp").order_by("vmp__name"))
    return sorted(stock, key=lambda s: (not s.low, s.vmp.name))


def stock_card(stock: WardStock) -> QuerySet[StockMovement]:
    return stock.movements.select_related("by", "witness", "administration__patient").order_by("at", "pk")


def open_requests(wards: list[Ward]) -> QuerySet[StockRequest]:
    return (
        StockRequest.objects.filter(status=StockRequestStatus.REQUESTED, stock__ward__in=wards)
        .select_related("stock__vmp", "stock__ward")
        .order_by("requested_at", "pk")
    )
