"""Ward stock: receipts from pharmacy, doses given, disposals and stock-check adjustments, each a
movement with the balance after it, under a lock on the stock row so two movements at once cannot
lose one. Falling to the reorder level asks pharmacy once; pharmacy marks the request supplied and
the stock goes up. Controlled drugs need a witness for every movement (the CD register)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from epr.audit.models import Action
from epr.audit.services import audit_record
from prescribing import policy
from prescribing.models import (
    Administration,
    MovementKind,
    StockMovement,
    StockRequest,
    StockRequestStatus,
    VMPIngredient,
    WardStock,
)
from prescribing.rules.stock import units_used
from records.errors import RecordError
from records.models import WardStay


def _witness(stock: WardStock, by: Any, witness: Any) -> None:
    if not policy.needs_witness(stock.vmp.controlled_drug_category):
        return
    if witness is None:
        raise RecordError("A controlled drug's stock needs a second person to witness it.", field="witness")
    if witness.pk == by.pk:
        raise RecordError("The witness must be someone other than you.", field="witness")
    if not witness.has_perm("prescribing.witness_administration"):
        raise RecordError(f"{witness.get_full_name()} may not witness controlled drugs.", field="witness")


def _move(
    stock: WardStock,
    *,
    kind: str,
    quantity: Decimal,
    by: Any,
    witness: Any = None,
    note: str = "",
    batch: str = "",
    administration: Administration | None = None,
) -> StockMovement:
    locked = WardStock.objects.select_for_update().select_related("vmp", "ward").get(pk=stock.pk)
    if locked.balance + quantity < 0 and kind != MovementKind.ADMINISTRATION:
        raise RecordError(f"Only {locked.balance.normalize():f} {locked.unit} is in stock.", field="quantity")
    locked.balance += quantity
    locked.save(update_fields=["balance"])
    movement = StockMovement.objects.create(
        stock=locked,
        kind=kind,
        quantity=quantity,
        balance_after=locked.balance,
        by=by,
        witness=witness,
        note=note.strip(),
        batch=batch,
        administration=administration,
        at=timezone.now(),
    )
    if locked.low and locked.reorder_quantity > 0:
        _ask_pharmacy(locked)
    return movement


def _ask_pharmacy(stock: WardStock) -> None:
    if StockRequest.objects.filter(stock=stock, status=StockRequestStatus.REQUESTED).exists():
        return
    try:
        with transaction.atomic():
            StockRequest.objects.create(
                stock=stock, quantity=stock.reorder_quantity, requested_at=timezone.now()
            )
    except IntegrityError:
        pass  # another movement asked at the same moment: one request stands


@transaction.atomic
def stock_receive(
    *, by: Any, stock: WardStock, quantity: Decimal, batch: str = "", witness: Any = None
) -> StockMovement:
    if quantity <= 0:
        raise RecordError("Give how much was received.", field="quantity")
    _witness(stock, by, witness)
    movement = _move(stock, kind=MovementKind.RECEIPT, quantity=quantity, by=by, witness=witness, batch=batch)
    audit_record(user=by, action=Action.CREATE, patient_id=None, obj=movement, detail={"stock": "receipt"})
    return movement


@transaction.atomic
def stock_dispose(
    *, by: Any, stock: WardStock, quantity: Decimal, reason: str, witness: Any = None
) -> StockMovement:
    if quantity <= 0:
        raise RecordError("Give how much was disposed of.", field="quantity")
    if not reason.strip():
        raise RecordError("Give the reason (expired, dropped, part-dose wasted...).", field="note")
    _witness(stock, by, witness)
    movement = _move(
        stock, kind=MovementKind.DISPOSAL, quantity=-quantity, by=by, witness=witness, note=reason
    )
    audit_record(user=by, action=Action.CREATE, patient_id=None, obj=movement, detail={"stock": "disposal"})
    return movement


@transaction.atomic
def stock_check(
    *, by: Any, stock: WardStock, counted: Decimal, reason: str = "", witness: Any = None
) -> StockMovement | None:
    """A stock check: the count found. A difference is recorded as an adjustment and needs its reason."""
    locked = WardStock.objects.select_for_update().get(pk=stock.pk)
    difference = counted - locked.balance
    if difference == 0:
        return None
    if not reason.strip():
        raise RecordError("The count differs from the balance: give the reason.", field="note")
    _witness(stock, by, witness)
    movement = _move(
        stock, kind=MovementKind.ADJUSTMENT, quantity=difference, by=by, witness=witness, note=reason
    )
    audit_record(user=by, action=Action.CREATE, patient_id=None, obj=movement, detail={"stock": "adjustment"})
    return movement


@transaction.atomic
def stock_supply(*, by: Any, request: StockRequest) -> StockRequest:
    locked = StockRequest.objects.select_for_update().select_related("stock").get(pk=request.pk)
    if locked.status != StockRequestStatus.REQUESTED:
        raise RecordError("This request was already supplied.")
    locked.status, locked.supplied_by, locked.supplied_at = StockRequestStatus.SUPPLIED, by, timezone.now()
    locked.save()
    _move(
        locked.stock, kind=MovementKind.RECEIPT, quantity=locked.quantity, by=by, note="Supplied by pharmacy"
    )
    audit_record(user=by, action=Action.UPDATE, patient_id=None, obj=locked, detail={"stock": "supplied"})
    return locked


def stock_use_for(administration: Administration) -> StockMovement | None:
    """Take a given dose out of the stock of the ward the patient is on, when the ward stocks the
    product and the dose can be counted in its unit. Called inside the administration's transaction."""
    stay = WardStay.objects.filter(
        encounter__patient_id=administration.patient_id, ended_at__isnull=True
    ).first()
    prescription = administration.prescription
    if stay is None or administration.dose_value is None:
        return None
    stock = WardStock.objects.filter(ward_id=stay.ward_id, vmp_id=prescription.vmp_id).first()
    if stock is None:
        return None
    strengths = list(VMPIngredient.objects.filter(vmp_id=prescription.vmp_id)[:2])
    strength = strengths[0] if len(strengths) == 1 else None
    used = units_used(
        dose_value=administration.dose_value,
        dose_unit=administration.dose_unit,
        unit_dose=stock.unit,
        strength_value=strength.strength_value if strength else None,
        strength_unit=strength.strength_units if strength else "",
        per_value=strength.per_value if strength else None,
        per_unit=strength.per_units if strength else "",
    )
    if used is None:
        return None
    return _move(
        stock,
        kind=MovementKind.ADMINISTRATION,
        quantity=-used,
        by=administration.recorded_by,
        witness=administration.witness,
        batch=administration.batch,
        administration=administration,
    )
