"""Ward stock (prescribing/rules/stock.py, services/stock.py, views/stock.py): what a dose uses of the
unit a ward counts, the stock a given dose takes, one request to pharmacy at the reorder level,
pharmacy's supply, and the witness a controlled drug's stock needs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from epr.accounts.roles import Role
from prescribing.models import MovementKind, StockRequest, StockRequestStatus, WardStock
from prescribing.rules.stock import units_used
from prescribing.services import administration, stock
from prescribing.services.verification import prescription_review
from records.errors import RecordError
from tests.factories import UserFactory
from tests.factories.prescribing import product
from tests.prescribing.support import pack, prescribe, scan_of
from tests.support import signed_in


@pytest.mark.parametrize(
    ("dose", "unit", "unit_dose", "strength", "per", "expected"),
    [
        ("1000", "mg", "tablet", ("500", "mg"), None, "2"),
        ("2", "tablet", "tablet", ("500", "mg"), None, "2"),
        ("5", "mg", "ml", ("2", "mg"), ("1", "ml"), "2.5"),
        ("1", "gram", "tablet", ("500", "mg"), None, None),  # units that do not meet: not guessed
        ("10", "ml", "ml", ("2", "mg"), ("1", "ml"), "10"),
        ("40", "mg", "pre-filled syringe", ("40", "mg"), ("0.4", "ml"), None),
    ],
)
def test_what_a_dose_uses_of_the_unit_counted(dose, unit, unit_dose, strength, per, expected):
    used = units_used(
        dose_value=Decimal(dose),
        dose_unit=unit,
        unit_dose=unit_dose,
        strength_value=Decimal(strength[0]),
        strength_unit=strength[1],
        per_value=Decimal(per[0]) if per else None,
        per_unit=per[1] if per else "",
    )
    assert used == (Decimal(expected) if expected else None)


@pytest.fixture
def paracetamol(db):
    return product("Paracetamol 500mg tablets", "Paracetamol")


@pytest.fixture
def shelf(ward, paracetamol):
    strength = paracetamol.ingredients.get()
    strength.strength_value, strength.strength_units = Decimal("500"), "mg"
    strength.save()
    return WardStock.objects.create(
        ward=ward,
        vmp=paracetamol,
        unit="tablet",
        balance=Decimal("6"),
        reorder_level=Decimal("4"),
        reorder_quantity=Decimal("100"),
    )


def test_a_dose_given_takes_its_tablets_and_low_stock_asks_pharmacy_once(
    admitted, doctor, nurse, pharmacist, paracetamol, shelf
):
    prescription = prescribe(
        doctor,
        admitted.patient,
        paracetamol,
        kind="as-required",
        times_of_day=[],
        min_interval_minutes=60,
        max_doses_in_24_hours=8,
    )
    prescription_review(by=pharmacist, prescription=prescription, action="verified")
    prescription.refresh_from_db()
    gtin = pack(paracetamol, 21)
    for hours_ago in (3, 1):
        administration.administration_give(
            given_by=nurse,
            prescription=prescription,
            due_at=None,
            wristband=admitted.patient.nhs_number,
            pack=scan_of(gtin),
            now=timezone.now() - timedelta(hours=hours_ago),
        )
    shelf.refresh_from_db()
    assert shelf.balance == Decimal("2")
    assert [m.kind for m in shelf.movements.all()] == [MovementKind.ADMINISTRATION] * 2
    assert StockRequest.objects.filter(stock=shelf, status=StockRequestStatus.REQUESTED).count() == 1
    supplied = stock.stock_supply(by=pharmacist, request=StockRequest.objects.get())
    shelf.refresh_from_db()
    assert supplied.status == StockRequestStatus.SUPPLIED and shelf.balance == Decimal("102")


def test_a_controlled_drugs_receipt_needs_a_witness(ward, nurse, db):
    morphine = product("Morphine sulfate 10mg/1ml solution for injection ampoules", "Morphine")
    morphine.controlled_drug_category = "0002"
    morphine.save()
    cd = WardStock.objects.create(ward=ward, vmp=morphine, unit="ampoule")
    with pytest.raises(RecordError, match="witness"):
        stock.stock_receive(by=nurse, stock=cd, quantity=Decimal("10"))
    second = UserFactory(role=Role.NURSE)
    movement = stock.stock_receive(by=nurse, stock=cd, quantity=Decimal("10"), witness=second, batch="M1")
    assert movement.balance_after == Decimal("10") and movement.witness == second


def test_a_count_that_differs_needs_its_reason_and_disposal_cannot_go_below_nothing(shelf, nurse):
    with pytest.raises(RecordError, match="give the reason"):
        stock.stock_check(by=nurse, stock=shelf, counted=Decimal("5"))
    assert stock.stock_check(by=nurse, stock=shelf, counted=Decimal("6")) is None
    stock.stock_check(by=nurse, stock=shelf, counted=Decimal("5"), reason="One found broken")
    with pytest.raises(RecordError, match="Only 5"):
        stock.stock_dispose(by=nurse, stock=shelf, quantity=Decimal("9"), reason="Expired")


def test_the_stock_pages_for_ward_staff_and_pharmacy(shelf, nurse, pharmacist, clerk, ward):
    page = signed_in(nurse).get(reverse("prescribing:ward_stock"))
    assert b"Paracetamol 500mg tablets" in page.content
    assert signed_in(clerk).get(reverse("prescribing:ward_stock")).status_code == 403
    card = reverse("prescribing:stock_card", args=[shelf.pk])
    signed_in(nurse).post(
        reverse("prescribing:stock_move", args=[shelf.pk]), {"kind": "receipt", "quantity": "20"}
    )
    shelf.refresh_from_db()
    assert shelf.balance == Decimal("26")
    assert b"Received from pharmacy" in signed_in(nurse).get(card).content
    outsider = UserFactory(role=Role.NURSE)
    assert signed_in(outsider).get(card).status_code == 403
