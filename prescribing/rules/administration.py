"""The bedside checks of closed-loop administration, as pure functions of what was scanned and what
was prescribed: right patient, right medicine and strength, an unexpired pack, the right time, and an
active prescription. Each refusal says what is wrong in words a nurse acts on, and whether the trust's
policy lets a nurse record the dose anyway with a reason: never for the wrong patient, an expired
pack or a prescription no longer active."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from prescribing.rules import doses
from prescribing.rules.gs1 import PackScan

# Symbology identifiers a wristband scanner may put in front of the number (Code 128, Code 39,
# DataMatrix, QR), and the spaces of an NHS number printed in 3-3-4.
_PREFIX = re.compile(r"^\][A-Za-z]\d")


@dataclass(frozen=True)
class Refusal:
    code: str  # stable, for the audit and the tests: "wrong-patient", "expired"...
    message: str
    overridable: bool


def wristband_identifier(scanned: str) -> str:
    """What a wristband scan carries, without a symbology identifier, spaces or the Enter key."""
    text = _PREFIX.sub("", scanned.strip())
    return re.sub(r"[\s-]", "", text).upper()


def wristband_refusal(scanned: str, *, nhs_number: str, hospital_number: str, name: str) -> Refusal | None:
    """None when the wristband is this patient's (their NHS number or their hospital number)."""
    identifier = wristband_identifier(scanned)
    if not identifier:
        return Refusal("no-wristband", "Scan the patient's wristband first.", overridable=False)
    if identifier in {nhs_number.replace(" ", ""), hospital_number.replace(" ", "").upper()} - {""}:
        return None
    return Refusal(
        "wrong-patient",
        f"This wristband is not {name}'s. Stop: check you are with the right patient.",
        overridable=False,
    )


@dataclass(frozen=True)
class Product:
    """What the pack's GTIN maps to in the catalogue (AMPP -> AMP -> VMP -> VTM)."""

    vmp_id: str
    vmp_name: str
    amp_id: str
    amp_name: str
    vtm_id: str


@dataclass(frozen=True)
class Order:
    """The prescription the dose is for, as the bedside check needs it."""

    vmp_id: str
    vmp_name: str
    vtm_id: str
    amp_id: str  # "" unless prescribed by brand
    amp_name: str
    active: bool
    stopped_reason: str  # why it is not active, in words, when it is not


def pack_refusals(scan: PackScan, product: Product | None, order: Order, *, today: date) -> list[Refusal]:
    """Everything wrong with giving this pack for this prescription, most serious first."""
    refusals: list[Refusal] = []
    if not order.active:
        refusals.append(
            Refusal(
                "not-active", f"This prescription is not active: {order.stopped_reason}", overridable=False
            )
        )
    if scan.expiry is not None and scan.expiry < today:
        refusals.append(
            Refusal(
                "expired",
                f"This pack expired on {scan.expiry:%d-%b-%Y}. Do not give it: use another pack.",
                overridable=False,
            )
        )
    if product is None:
        refusals.append(
            Refusal(
                "unknown-pack",
                f"This pack's code ({scan.gtin}) is not in the medicines catalogue: check the pack against "
                "the prescription by eye.",
                overridable=True,
            )
        )
    elif product.vmp_id != order.vmp_id:
        same_medicine = bool(product.vtm_id) and product.vtm_id == order.vtm_id
        refusals.append(
            Refusal(
                "wrong-strength-or-form" if same_medicine else "not-prescribed",
                f"This pack is {product.vmp_name}; the prescription is for {order.vmp_name}."
                + (" Check the strength and form." if same_medicine else ""),
                overridable=True,
            )
        )
    elif order.amp_id and product.amp_id != order.amp_id:
        refusals.append(
            Refusal(
                "wrong-brand",
                f"This pack is {product.amp_name}; {order.amp_name} was prescribed by brand.",
                overridable=True,
            )
        )
    return refusals


def time_refusal(
    *,
    due: datetime | None,
    now: datetime,
    window: doses.Window,
    as_required: doses.AsRequired | None = None,
    given: tuple[datetime, ...] = (),
) -> Refusal | None:
    """A regular dose before its window opens, or an as-required dose inside its interval or over its
    24-hour maximum. A late dose is not refused (it is recorded as delayed)."""
    if as_required is not None:
        reason = doses.as_required_refusal(given, now, as_required)
        return Refusal("as-required-limit", reason, overridable=True) if reason else None
    if due is not None and doses.timing(due, now, window) == doses.Timing.EARLY:
        return Refusal("not-due", doses.too_early_message(due, window), overridable=True)
    return None
