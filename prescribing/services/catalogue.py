"""Loading the dm+d release (NHSBSA's XML files) into the catalogue, and updating it in place from a
newer one. Each file is read as a stream, so the full release (a few hundred megabytes) never sits in
memory whole, and each kind of row is written in batches with one upsert per batch, keyed by its dm+d
identifier. Nothing is deleted: a product a release no longer carries keeps its row."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import models, transaction

from prescribing.models import AMP, AMPP, VMP, VMPP, VTM, DmdLookup, Ingredient, PackGTIN, VMPIngredient
from prescribing.rules.gs1 import ScanError, gtin14

BATCH = 2000
# The release's file names: f_vmp2_3010419.xml, f_gtin2_0010419.xml...
FILES = ("lookup", "ingredient", "vtm", "vmp", "vmpp", "amp", "ampp", "gtin")


class DmdImportError(Exception):
    """The folder is not a dm+d release this importer can read; the message says what is missing."""


@dataclass
class ImportReport:
    rows: dict[str, int] = field(default_factory=dict)  # rows written, by kind
    skipped: dict[str, int] = field(default_factory=dict)  # rows left out, by reason

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def release_files(folder: Path) -> dict[str, Path]:
    """The release's file of each kind, found by its name whatever its version suffix."""
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("f_*.xml")):
        match = re.match(r"^f_([a-z]+?)\d", path.name)
        if match and match.group(1) in FILES:
            found[match.group(1)] = path
    missing = [kind for kind in ("vtm", "vmp", "amp", "vmpp", "ampp") if kind not in found]
    if missing:
        names = ", ".join(f"f_{kind}" for kind in missing)
        raise DmdImportError(f"{folder} is not a dm+d release: no {names} file.")
    return found


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except ET.ParseError as exc:
        raise DmdImportError(f"{path.name} is not well-formed XML ({exc}): nothing was loaded.") from exc


def _records(path: Path, section: str, tag: str) -> Iterator[dict[str, str]]:
    """Each <tag> element under <section> as a dict of its child elements' text."""
    with _reading(path):
        yield from _section(path, section, tag)


def _section(path: Path, section: str, tag: str) -> Iterator[dict[str, str]]:
    inside = False
    for event, element in ET.iterparse(path, events=("start", "end")):  # noqa: S314 - see the import
        if event == "start" and element.tag == section:
            inside = True
        elif event == "end" and element.tag == section:
            inside = False
            element.clear()
        elif event == "end" and inside and element.tag == tag:
            yield {child.tag: (child.text or "").strip() for child in element}
            element.clear()


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None  # a GTIN's dates only say when it was used; a garbled one is not worth a failed load


def _upsert(
    model: type[models.Model], rows: Sequence[models.Model], unique: list[str], report: ImportReport
) -> None:
    if not rows:
        return
    # A release may list a row twice (a lookup code in two places): the last one stands, as one
    # upsert may not touch a row twice.
    keys = [f.attname for f in model._meta.concrete_fields if f.name in unique]
    rows = list({tuple(getattr(row, key) for key in keys): row for row in rows}.values())
    fields = [
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in unique and f.name != "bnf_code"
    ]
    for start in range(0, len(rows), BATCH):
        model._default_manager.bulk_create(
            list(rows[start : start + BATCH]),
            update_conflicts=True,
            unique_fields=unique,
            update_fields=fields,
        )
    report.rows[model._meta.model_name or ""] = report.rows.get(model._meta.model_name or "", 0) + len(rows)


def _ids(model: type[models.Model]) -> dict[str, int]:
    return dict(model._default_manager.values_list("dmd_id", "pk"))


def _lookups(path: Path, report: ImportReport) -> None:
    # A small file (a few hundred kilobytes): one list per child of the root, one <INFO> per code.
    with _reading(path):
        root = ET.parse(path).getroot()  # noqa: S314
    rows = [
        DmdLookup(
            kind=lst.tag,
            code=info.findtext("CD", "").strip(),
            description=info.findtext("DESC", "").strip()[:200],
        )
        for lst in root
        for info in lst.iter("INFO")
    ]
    _upsert(DmdLookup, rows, ["kind", "code"], report)


def _simple(
    path: Path, section: str, tag: str, build: Callable[[dict[str, str]], models.Model | None]
) -> list[models.Model]:
    return [row for record in _records(path, section, tag) if (row := build(record)) is not None]


def _vmps(path: Path, vtms: dict[str, int], report: ImportReport) -> None:
    forms = {r["VPID"]: r["FORMCD"] for r in _records(path, "DRUG_FORM", "DFORM")}
    routes: dict[str, list[str]] = {}
    for r in _records(path, "DRUG_ROUTE", "DROUTE"):
        routes.setdefault(r["VPID"], []).append(r["ROUTECD"])
    controlled = {r["VPID"]: r["CATCD"] for r in _records(path, "CONTROL_DRUG_INFO", "CONTROL_INFO")}
    words = {
        (row.kind, row.code): row.description for row in DmdLookup.objects.filter(kind__in=["FORM", "ROUTE"])
    }

    def build(r: dict[str, str]) -> VMP:
        vpid = r["VPID"]
        codes = sorted(routes.get(vpid, []))
        return VMP(
            dmd_id=vpid,
            previous_dmd_id=r.get("VPIDPREV", ""),
            vtm_id=vtms.get(r.get("VTMID", "")),
            name=r["NM"],
            form_code=forms.get(vpid, ""),
            route_codes=codes,
            form_name=words.get(("FORM", forms.get(vpid, "")), ""),
            route_names=[words.get(("ROUTE", code), code) for code in codes],
            source="dmd",
            controlled_drug_category=controlled.get(vpid, ""),
            unit_dose_form_size=_decimal(r.get("UDFS", "")),
            unit_dose_form_units=r.get("UDFS_UOMCD", ""),
            unit_dose_units=r.get("UNIT_DOSE_UOMCD", ""),
            discrete={"1": True, "2": False}.get(r.get("DF_INDCD", "")),
            prescribing_status=r.get("PRES_STATCD", ""),
            invalid=r.get("INVALID") == "1",
        )

    rows = _simple(path, "VMPS", "VMP", build)
    _follow_identifier_changes(rows, report)
    _upsert(VMP, rows, ["dmd_id"], report)


def _follow_identifier_changes(rows: list[models.Model], report: ImportReport) -> None:
    """A VMP whose identifier dm+d changed (VPIDPREV) keeps its row, and so every prescription and
    pack that points at it: the row takes the new identifier before the release is written."""
    changes = {
        row.previous_dmd_id: row.dmd_id for row in rows if isinstance(row, VMP) and row.previous_dmd_id
    }
    if not changes:
        return
    taken = set(VMP.objects.filter(dmd_id__in=changes.values()).values_list("dmd_id", flat=True))
    for old, new in changes.items():
        if new not in taken and VMP.objects.filter(dmd_id=old).update(dmd_id=new):
            report.rows["vmp identifier changes"] = report.rows.get("vmp identifier changes", 0) + 1


def _vmp_ingredients(path: Path, report: ImportReport) -> None:
    vmps, ingredients = _ids(VMP), _ids(Ingredient)
    rows = []
    for r in _records(path, "VIRTUAL_PRODUCT_INGREDIENT", "VPI"):
        vmp_id, ingredient_id = vmps.get(r["VPID"]), ingredients.get(r["ISID"])
        if vmp_id is None or ingredient_id is None:
            report.skip("ingredient of an unknown VMP or substance")
            continue
        rows.append(
            VMPIngredient(
                vmp_id=vmp_id,
                ingredient_id=ingredient_id,
                strength_value=_decimal(r.get("STRNT_NMRTR_VAL", "")),
                strength_units=r.get("STRNT_NMRTR_UOMCD", ""),
                per_value=_decimal(r.get("STRNT_DNMTR_VAL", "")),
                per_units=r.get("STRNT_DNMTR_UOMCD", ""),
                basis=r.get("BASIS_STRNTCD", ""),
            )
        )
    _upsert(VMPIngredient, rows, ["vmp", "ingredient"], report)


def _parent(ids: dict[str, int], key: str, report: ImportReport, reason: str) -> int | None:
    found = ids.get(key)
    if found is None:
        report.skip(reason)
    return found


def _gtins(path: Path, report: ImportReport) -> None:
    ampps = _ids(AMPP)
    with _reading(path):
        rows = list(_gtin_rows(path, ampps, report))
    _upsert(PackGTIN, rows, ["ampp", "gtin"], report)


def _gtin_rows(path: Path, ampps: dict[str, int], report: ImportReport) -> Iterator[PackGTIN]:
    for _, element in ET.iterparse(path, events=("end",)):  # noqa: S314
        if element.tag != "AMPP":
            continue
        ampp_id = _parent(ampps, element.findtext("AMPPID", "").strip(), report, "GTIN of an unknown AMPP")
        for data in element.findall("GTINDATA"):
            try:
                gtin = gtin14(data.findtext("GTIN", "").strip())
            except ScanError:
                report.skip("GTIN with a wrong check digit or length")
                continue
            if ampp_id is not None:
                yield (
                    PackGTIN(
                        ampp_id=ampp_id,
                        gtin=gtin,
                        start_date=_date(data.findtext("STARTDT", "").strip()),
                        end_date=_date(data.findtext("ENDDT", "").strip()),
                    )
                )
        element.clear()


def dmd_import(folder: Path) -> ImportReport:
    """Load or update the catalogue from a dm+d release folder. One transaction: a release that
    fails half way (a file that is not XML, a row without its identifier) leaves the catalogue as it
    was, and DmdImportError says what was wrong."""
    files = release_files(folder)
    try:
        return _load(files)
    except KeyError as exc:
        raise DmdImportError(
            f"A row of the release has no {exc.args[0]} element, which dm+d always gives: nothing was loaded."
        ) from exc


@transaction.atomic
def _load(files: dict[str, Path]) -> ImportReport:
    report = ImportReport()
    if "lookup" in files:
        _lookups(files["lookup"], report)
    if "ingredient" in files:
        ingredients = _simple(
            files["ingredient"],
            "INGREDIENT_SUBSTANCES",
            "ING",
            lambda r: Ingredient(dmd_id=r["ISID"], name=r["NM"], invalid=r.get("INVALID") == "1"),
        )
        _upsert(Ingredient, ingredients, ["dmd_id"], report)
    vtms = _simple(
        files["vtm"],
        "VIRTUAL_THERAPEUTIC_MOIETIES",
        "VTM",
        lambda r: VTM(dmd_id=r["VTMID"], name=r["NM"], invalid=r.get("INVALID") == "1"),
    )
    _upsert(VTM, vtms, ["dmd_id"], report)
    _vmps(files["vmp"], _ids(VTM), report)
    _vmp_ingredients(files["vmp"], report)
    _packs_and_products(files, report)
    if "gtin" in files:
        _gtins(files["gtin"], report)
    return report


def _packs_and_products(files: dict[str, Path], report: ImportReport) -> None:
    vmps = _ids(VMP)

    def vmpp(r: dict[str, str]) -> VMPP | None:
        vmp_id = _parent(vmps, r["VPID"], report, "VMPP of an unknown VMP")
        if vmp_id is None:
            return None
        return VMPP(
            dmd_id=r["VPPID"],
            vmp_id=vmp_id,
            name=r["NM"],
            quantity=_decimal(r.get("QTYVAL", "")),
            quantity_units=r.get("QTY_UOMCD", ""),
            invalid=r.get("INVALID") == "1",
        )

    def amp(r: dict[str, str]) -> AMP | None:
        vmp_id = _parent(vmps, r["VPID"], report, "AMP of an unknown VMP")
        if vmp_id is None:
            return None
        return AMP(
            dmd_id=r["APID"],
            vmp_id=vmp_id,
            name=r["NM"],
            description=r.get("DESC", "")[:700],
            supplier_code=r.get("SUPPCD", ""),
            invalid=r.get("INVALID") == "1",
        )

    _upsert(VMPP, _simple(files["vmpp"], "VMPPS", "VMPP", vmpp), ["dmd_id"], report)
    _upsert(AMP, _simple(files["amp"], "AMPS", "AMP", amp), ["dmd_id"], report)
    amps, vmpps = _ids(AMP), _ids(VMPP)

    def ampp(r: dict[str, str]) -> AMPP | None:
        amp_id = _parent(amps, r["APID"], report, "AMPP of an unknown AMP")
        vmpp_id = _parent(vmpps, r["VPPID"], report, "AMPP of an unknown VMPP")
        if amp_id is None or vmpp_id is None:
            return None
        return AMPP(
            dmd_id=r["APPID"],
            amp_id=amp_id,
            vmpp_id=vmpp_id,
            name=r["NM"],
            legal_category=r.get("LEGAL_CATCD", ""),
            subpack=r.get("SUBP", "")[:60],
            discontinued=bool(r.get("DISCCD")),
            invalid=r.get("INVALID") == "1",
        )

    _upsert(AMPP, _simple(files["ampp"], "AMPPS", "AMPP", ampp), ["dmd_id"], report)


def product_for_gtin(gtin: str) -> AMPP | None:
    """The pack a scanned GTIN (14 digits) belongs to, with its product and generic product."""
    return (
        AMPP.objects.select_related("amp__vmp__vtm", "vmpp")
        .filter(gtins__gtin=gtin)
        .order_by("-gtins__start_date")
        .first()
    )
