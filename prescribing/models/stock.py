"""Ward stock: how much of each product a ward holds (counted in the product's unit dose: tablets,
ampoules, ml), every movement in and out with the balance after it (for a controlled drug, this is
the ward's controlled-drug register), and the requests to pharmacy when stock falls to its reorder
level. Movements are never edited or deleted; a miscount is put right by an adjustment with a reason."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from prescribing.models.administration import Administration
from prescribing.models.catalogue import VMP
from records.models import Ward

__all__ = ["MovementKind", "StockMovement", "StockRequest", "StockRequestStatus", "WardStock"]


class WardStock(models.Model):
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, related_name="+")
    vmp = models.ForeignKey(VMP, on_delete=models.PROTECT, related_name="+")
    unit = models.CharField(max_length=30)  # what is counted: "tablet", "ampoule", "ml"
    balance = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    reorder_level = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    reorder_quantity = models.DecimalField(max_digits=12, decimal_places=3, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ward", "vmp"], name="wardstock_once")]

    def __str__(self) -> str:
        return f"{self.vmp} on {self.ward}: {self.balance.normalize():f} {self.unit}"

    @property
    def low(self) -> bool:
        return self.balance <= self.reorder_level


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Received from pharmacy"
    ADMINISTRATION = "administration", "Given to a patient"
    DISPOSAL = "disposal", "Disposed of"
    ADJUSTMENT = "adjustment", "Stock check adjustment"


class StockMovement(models.Model):
    stock = models.ForeignKey(WardStock, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=15, choices=MovementKind.choices)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)  # + in, - out
    balance_after = models.DecimalField(max_digits=12, decimal_places=3)
    administration = models.OneToOneField(
        Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="stock_movement"
    )
    batch = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(quantity=0), name="stockmovement_not_zero")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity.normalize():f}"


class StockRequestStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    SUPPLIED = "supplied", "Supplied"


class StockRequest(models.Model):
    stock = models.ForeignKey(WardStock, on_delete=models.PROTECT, related_name="requests")
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    status = models.CharField(
        max_length=10, choices=StockRequestStatus.choices, default=StockRequestStatus.REQUESTED
    )
    requested_at = models.DateTimeField()
    supplied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    supplied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        permissions = [("supply_stock", "Can supply ward stock (pharmacy)")]
        constraints = [
            # One open request per product and ward: falling further below the level asks once.
            models.UniqueConstraint(
                fields=["stock"], condition=Q(status="requested"), name="stockrequest_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stock.vmp}: {self.get_status_display()}"
