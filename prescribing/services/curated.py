"""Loading the curated subset of common hospital medicines shipped with the app
(prescribing/data/medicines.tsv), with its formulary entries and order sentences. Products are
matched by name, so re-loading updates them in place, and a trust that has loaded the NHSBSA dm+d
release keeps dm+d's rows and identifiers: the curated data then only adds the formulary and order
sentences to the product of the same name. A curated product not (yet) in a loaded release gets a
local identifier ("C" and digits), shown as such, never passed off as a dm+d code."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction

from prescribing.models import (
    VMP,
    VTM,
    FormularyEntry,
    FormularyStatus,
    Ingredient,
    OrderSentence,
    PrescriptionKind,
    VMPIngredient,
)
from prescribing.policy import CD_SCHEDULES

DATA = Path(__file__).resolve().parent.parent / "data"
MEDICINES = DATA / "medicines.tsv"
COLUMNS = (
    "name",
    "vtm",
    "form",
    "routes",
    "ingredients",
    "unit_dose",
    "cd",
    "bnf",
    "group",
    "max_single",
    "max_daily",
    "formulary",
    "sentences",
)
# The dm+d CONTROL_DRUG_CATEGORY code a ward's schedule number is loaded as (the first of each).
SCHEDULE_CODES = {schedule: code for code, schedule in reversed(list(CD_SCHEDULES.items()))}
FREQUENCIES = {
    "OD": ["08:00"],
    "OM": ["08:00"],
    "ON": ["22:00"],
    "BD": ["08:00", "20:00"],
    "TDS": ["08:00", "14:00", "22:00"],
    "QDS": ["06:00", "12:00", "18:00", "22:00"],
    "6-hourly": ["00:00", "06:00", "12:00", "18:00"],
    "8-hourly": ["06:00", "14:00", "22:00"],
    "12-hourly": ["08:00", "20:00"],
}
_PRN = re.compile(r"^PRN (\d+(?:\.\d+)?)h max (\d+)$")


class CuratedDataError(ValueError):
    """A line of the shipped data that cannot be read; the message names the line."""


@dataclass(frozen=True)
class Strength:
    ingredient: str
    value: Decimal
    unit: str
    per_value: Decimal | None = None
    per_unit: str = ""


@dataclass(frozen=True)
class Sentence:
    text: str
    kind: str
    dose_value: Decimal
    dose_unit: str
    route: str
    times_of_day: tuple[str, ...] = ()
    min_interval_minutes: int | None = None
    max_doses_in_24_hours: int | None = None


@dataclass(frozen=True)
class Medicine:
    name: str
    vtm: str
    form: str
    routes: tuple[str, ...]
    strengths: tuple[Strength, ...]
    unit_dose: str
    cd_schedule: str
    bnf: str
    group: str
    max_single: Decimal | None
    max_daily: Decimal | None
    max_unit: str
    formulary: str
    restriction: str
    sentences: tuple[Sentence, ...] = field(default=())


def local_id(kind: str, name: str) -> str:
    """A stable local identifier for a curated row, never a valid SNOMED CT identifier (the letter)."""
    digest = int(hashlib.sha256(f"{kind}:{name.lower()}".encode()).hexdigest(), 16)
    return f"C{digest % 10**15:015d}"


def _decimal(text: str, line: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise CuratedDataError(f"line {line}: {text!r} is not a number") from exc
    if value <= 0:
        raise CuratedDataError(f"line {line}: {text!r} must be greater than zero")
    return value


def _strengths(text: str, line: int) -> tuple[Strength, ...]:
    found = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        bits = part.split("|")
        if len(bits) not in (3, 5):
            raise CuratedDataError(f"line {line}: ingredient {part!r} needs name|value|unit[|per|unit]")
        per = (_decimal(bits[3], line), bits[4]) if len(bits) == 5 else (None, "")
        found.append(Strength(bits[0].strip(), _decimal(bits[1], line), bits[2].strip(), *per))
    return tuple(found)


def _maximum(text: str, line: int) -> tuple[Decimal | None, str]:
    if not text.strip():
        return None, ""
    value, _, unit = text.strip().partition(" ")
    return _decimal(value, line), unit.strip()


def parse_sentence(text: str, routes: tuple[str, ...], line: int = 0) -> Sentence:
    """ "1 gram Oral QDS", "2 dose Inhalation PRN 4h max 8", "40 mg Subcutaneous STAT"."""
    words = text.split()
    if len(words) < 4:
        raise CuratedDataError(f"line {line}: order sentence {text!r} needs dose, unit, route and frequency")
    dose, unit = _decimal(words[0], line), words[1]
    rest = " ".join(words[2:])
    route = next((r for r in sorted(routes, key=len, reverse=True) if rest.startswith(r + " ")), "")
    if not route:
        raise CuratedDataError(f"line {line}: order sentence {text!r} has none of the routes {routes}")
    frequency = rest.removeprefix(route).strip()
    if frequency == "STAT":
        return Sentence(text, PrescriptionKind.ONCE, dose, unit, route)
    if frequency in FREQUENCIES:
        return Sentence(text, PrescriptionKind.REGULAR, dose, unit, route, tuple(FREQUENCIES[frequency]))
    prn = _PRN.match(frequency)
    if prn:
        minutes = int(Decimal(prn.group(1)) * 60)
        return Sentence(text, PrescriptionKind.AS_REQUIRED, dose, unit, route, (), minutes, int(prn.group(2)))
    raise CuratedDataError(f"line {line}: order sentence {text!r} has an unknown frequency {frequency!r}")


def read_medicines(path: Path = MEDICINES) -> Iterator[Medicine]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise CuratedDataError(f"{path.name}: the header must be {' '.join(COLUMNS)}")
        for number, row in enumerate(reader, start=2):
            yield _medicine(row, number)


def _medicine(row: list[str], line: int) -> Medicine:
    if len(row) != len(COLUMNS):
        raise CuratedDataError(f"line {line}: {len(row)} columns, not {len(COLUMNS)}")
    value = dict(zip(COLUMNS, (c.strip() for c in row), strict=True))
    routes = tuple(r.strip() for r in value["routes"].split(",") if r.strip())
    max_single, unit = _maximum(value["max_single"], line)
    max_daily, daily_unit = _maximum(value["max_daily"], line)
    status, _, restriction = value["formulary"].partition(":")
    return Medicine(
        name=value["name"],
        vtm=value["vtm"],
        form=value["form"],
        routes=routes,
        strengths=_strengths(value["ingredients"], line),
        unit_dose=value["unit_dose"],
        cd_schedule=value["cd"],
        bnf=value["bnf"],
        group=value["group"],
        max_single=max_single,
        max_daily=max_daily,
        max_unit=unit or daily_unit,
        formulary={"yes": FormularyStatus.FORMULARY, "no": FormularyStatus.NON_FORMULARY}.get(
            status.strip(), FormularyStatus.RESTRICTED
        ),
        restriction=restriction.strip(),
        sentences=tuple(
            parse_sentence(s.strip(), routes, line) for s in value["sentences"].split(" ; ") if s.strip()
        ),
    )


def _named(
    model: type[VTM] | type[Ingredient], kind: str, name: str, cache: dict[tuple[str, str], Any]
) -> Any:
    key = (kind, name.lower())
    if key not in cache:
        found = model.objects.filter(name__iexact=name).order_by("invalid", "pk").first()
        cache[key] = found or model.objects.create(dmd_id=local_id(kind, name), name=name)
    return cache[key]


def _vmp(medicine: Medicine, vtm: VTM) -> tuple[VMP, bool]:
    """The product of this name: dm+d's when a release is loaded (only the words it lacks are filled
    in), else the curated row, updated to the data."""
    vmp = VMP.objects.filter(name__iexact=medicine.name).order_by("invalid", "pk").first()
    curated = {
        "form_name": medicine.form,
        "route_names": list(medicine.routes),
        "controlled_drug_category": SCHEDULE_CODES.get(medicine.cd_schedule, ""),
        "bnf_code": medicine.bnf,
        "discrete": medicine.unit_dose not in ("ml", "gram", "application", "drop"),
    }
    if vmp is None:
        return VMP.objects.create(
            dmd_id=local_id("vmp", medicine.name), name=medicine.name, vtm=vtm, source="curated", **curated
        ), True
    if vmp.source == "curated":
        for name, value in curated.items():
            setattr(vmp, name, value)
        vmp.vtm = vtm
    else:
        vmp.form_name = vmp.form_name or medicine.form
        vmp.route_names = vmp.route_names or list(medicine.routes)
        vmp.bnf_code = vmp.bnf_code or medicine.bnf
    vmp.save()
    return vmp, False


@transaction.atomic
def load_curated(path: Path = MEDICINES) -> dict[str, int]:
    """Load or refresh the curated medicines; returns counts by what was done."""
    counts = {"medicines": 0, "new": 0, "order sentences": 0}
    cache: dict[tuple[str, str], Any] = {}
    for medicine in read_medicines(path):
        vtm = _named(VTM, "vtm", medicine.vtm, cache)
        vmp, new = _vmp(medicine, vtm)
        if vmp.source == "curated":
            for strength in medicine.strengths:
                ingredient = _named(Ingredient, "ingredient", strength.ingredient, cache)
                VMPIngredient.objects.update_or_create(
                    vmp=vmp,
                    ingredient=ingredient,
                    defaults={
                        "strength_value": strength.value,
                        "strength_units": strength.unit,
                        "per_value": strength.per_value,
                        "per_units": strength.per_unit,
                    },
                )
        FormularyEntry.objects.update_or_create(
            vmp=vmp,
            defaults={
                "status": medicine.formulary,
                "restriction": medicine.restriction,
                "group": medicine.group,
                "max_single_dose": medicine.max_single,
                "max_daily_dose": medicine.max_daily,
                "max_dose_unit": medicine.max_unit,
            },
        )
        OrderSentence.objects.filter(vmp=vmp).delete()  # configuration, not clinical data: replaced whole
        OrderSentence.objects.bulk_create(
            OrderSentence(vmp=vmp, order=i, **{**s.__dict__, "times_of_day": list(s.times_of_day)})
            for i, s in enumerate(medicine.sentences)
        )
        counts["medicines"] += 1
        counts["new"] += new
        counts["order sentences"] += len(medicine.sentences)
    return counts
