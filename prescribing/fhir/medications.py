"""FHIR R4 Medication, MedicationRequest and MedicationAdministration (UK Core shapes), read-only, from
the dm+d catalogue (VMP), Prescription and Administration rows; their capabilities and searches.

Ids are the row ids. A Medication is a VMP: coded in dm+d (https://dmd.nhs.uk) by its VPID, or, for a
curated medicine whose identifier is local ("C..."), in the trust's own system, never as dm+d; its packs'
GTINs are further codings. A MedicationRequest is always an order; its category says inpatient,
discharge or outpatient. A MedicationAdministration is completed (given), not-done (not given, with the
reason) or entered-in-error. Each search page is a constant number of queries, however many rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import and_, or_
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, codeable_concept, instant
from epr.fhir.search import SearchPage, check_parameters, paging
from epr.terminology.models import CodeSystem
from prescribing import policy
from prescribing.models import (
    AMP,
    VMP,
    Administration,
    AdministrationOutcome,
    DmdLookup,
    PackGTIN,
    Prescription,
    PrescriptionKind,
    PrescriptionStatus,
    Setting,
    VMPIngredient,
)
from records.fhir.clinical_search import NOTHING, ClinicalSearch, SearchSpec
from records.fhir.common import DEFAULT_COUNT, MAX_COUNT
from records.models import ENTERED_IN_ERROR, EntryStatus

DMD = "https://dmd.nhs.uk"
GTIN = "https://www.gs1.org/gtin"
UCUM = "http://unitsofmeasure.org"
SNOMED = CodeSystem.SNOMED.value
MEDICATION_PROFILE = f"{UK_CORE}UKCore-Medication"
REQUEST_PROFILE = f"{UK_CORE}UKCore-MedicationRequest"
ADMINISTRATION_PROFILE = f"{UK_CORE}UKCore-MedicationAdministration"
REQUEST_STATUS = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"
REQUEST_INTENT = "http://hl7.org/fhir/CodeSystem/medicationrequest-intent"
# The codes UK Core's MedicationRequest examples use for where the medicine is taken.
REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
ADMINISTRATION_STATUS = "http://terminology.hl7.org/CodeSystem/medication-admin-status"
PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
ORDER = "order"

CATEGORIES = {
    Setting.INPATIENT: ("inpatient", "Inpatient"),
    Setting.DISCHARGE: ("discharge", "Discharge"),
    Setting.OUTPATIENT: ("outpatient", "Outpatient"),
}
REQUEST_STATUSES = frozenset(PrescriptionStatus.values)  # active, stopped, entered-in-error: FHIR's own
COMPLETED, NOT_DONE = "completed", "not-done"

# The dose and strength units a ward writes in words, as UCUM codes; others ("tablet") go as words only.
UCUM_UNITS = {
    "mg": "mg",
    "g": "g",
    "gram": "g",
    "microgram": "ug",
    "nanogram": "ng",
    "ml": "mL",
    "litre": "L",
    "mmol": "mmol",
    "hour": "h",
}


def local_medicine_system() -> str:
    """The trust's own code system for curated medicines, whose identifiers are not dm+d's."""
    return f"https://fhir.{settings.EPR_ORGANISATION_ODS.lower()}.nhs.uk/Id/local-medicine"


_PAGING = (
    SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
    SearchParam("_offset", "number", "Index of the first result on the page"),
)
_PATIENT = SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff")


def _sort(newest_first: str) -> SearchParam:
    return SearchParam("_sort", "string", f"-date ({newest_first}, the default) or date")


MEDICATION_CAPABILITY = Capability(
    profile=MEDICATION_PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam(
            "code",
            "token",
            f"A dm+d VPID or APID as {DMD}|<id>, a curated medicine as {local_medicine_system()}|<id>, "
            f"a pack as {GTIN}|<GTIN>, or a code alone",
        ),
        *_PAGING,
    ),
)
REQUEST_CAPABILITY = Capability(
    profile=REQUEST_PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        _PATIENT,
        SearchParam("status", "token", "active, stopped or entered-in-error"),
        SearchParam("intent", "token", f"{ORDER} (every prescription is an order)"),
        SearchParam("category", "token", "inpatient, discharge or outpatient"),
        SearchParam("authoredon", "date", "When prescribed, with ge, le, gt, lt or eq; repeat for a range"),
        _sort("most recently prescribed first"),
        *_PAGING,
    ),
)
ADMINISTRATION_CAPABILITY = Capability(
    profile=ADMINISTRATION_PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        _PATIENT,
        SearchParam("status", "token", f"{COMPLETED} (given), {NOT_DONE} (not given) or entered-in-error"),
        SearchParam(
            "effective-time",
            "date",
            "When given (or found not given), with ge, le, gt, lt or eq; repeat for a range",
        ),
        _sort("most recent first"),
        *_PAGING,
    ),
)


# --- Quantities -----------------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    """A decimal as FHIR JSON writes it: 1000 mg, not 1000.0000."""
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(value: Decimal, unit: str, units: dict[str, str] | None = None) -> dict[str, Any]:
    """A Quantity; a dm+d unit of measure (a SNOMED CT code) is named from `units`, dm+d's list."""
    if unit.isdigit():
        return {
            "value": _number(value),
            "unit": (units or {}).get(unit, unit),
            "system": SNOMED,
            "code": unit,
        }
    code = UCUM_UNITS.get(unit)
    return {"value": _number(value), "unit": unit or None, "system": UCUM if code else None, "code": code}


# --- Medication (a VMP) ---------------------------------------------------------------------------


def is_local(vmp: VMP) -> bool:
    """A curated medicine not (yet) matched to dm+d: its identifier is the trust's, not a VPID."""
    return vmp.source == "curated" or not vmp.dmd_id.isdigit()


@dataclass(frozen=True)
class CatalogueDetail:
    """What a page of Medications needs beyond the VMPs: their packs' GTINs, and dm+d's unit words."""

    gtins: dict[int, list[tuple[str, str]]]  # VMP id -> (GTIN, pack name)
    units: dict[str, str]  # UNIT_OF_MEASURE code -> words


def catalogue_detail(vmps: list[VMP]) -> CatalogueDetail:
    """At most two queries for any number of VMPs (their ingredients are prefetched)."""
    gtins: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if vmps:
        packs = (
            PackGTIN.objects.filter(ampp__amp__vmp__in=vmps)
            .order_by("gtin", "pk")
            .values_list("ampp__amp__vmp_id", "gtin", "ampp__name")
        )
        for vmp_id, gtin, name in packs:
            if gtin not in {g for g, _ in gtins[vmp_id]}:
                gtins[vmp_id].append((gtin, name))
    codes = {
        unit
        for vmp in vmps
        for i in vmp.ingredients.all()
        for unit in (i.strength_units, i.per_units)
        if unit.isdigit()
    }
    units: dict[str, str] = {}
    if codes:
        units = dict(
            DmdLookup.objects.filter(kind="UNIT_OF_MEASURE", code__in=codes).values_list(
                "code", "description"
            )
        )
    return CatalogueDetail(gtins=dict(gtins), units=units)


def _strength(ingredient: VMPIngredient, units: dict[str, str]) -> dict[str, Any] | None:
    if ingredient.strength_value is None:
        return None
    per = ingredient.per_value if ingredient.per_value is not None else Decimal(1)
    return {
        "numerator": quantity(ingredient.strength_value, ingredient.strength_units, units),
        "denominator": quantity(per, ingredient.per_units, units),
    }


def medication_entry(vmp: VMP, detail: CatalogueDetail) -> dict[str, Any]:
    """The Medication, unvalidated: for a Bundle that is validated as a whole."""
    system = local_medicine_system() if is_local(vmp) else DMD
    packs = [(GTIN, gtin, name) for gtin, name in detail.gtins.get(vmp.pk, [])]
    return {
        "resourceType": "Medication",
        "id": str(vmp.pk),
        "meta": {"profile": [MEDICATION_PROFILE]},
        "code": codeable_concept((system, vmp.dmd_id, vmp.name), *packs, text=vmp.name),
        "status": "inactive" if vmp.invalid else "active",
        "form": {"text": vmp.form_name} if vmp.form_name else None,
        "ingredient": [
            {
                "itemCodeableConcept": {"text": i.ingredient.name},
                "isActive": True,
                "strength": _strength(i, detail.units),
            }
            for i in vmp.ingredients.all()
        ],
    }


def medications() -> QuerySet[VMP]:
    return VMP.objects.prefetch_related(
        Prefetch("ingredients", queryset=VMPIngredient.objects.select_related("ingredient").order_by("pk"))
    )


@dataclass(frozen=True, kw_only=True)
class MedicationSearch:
    where: Q
    count: int
    offset: int
    params: list[tuple[str, str]]

    @property
    def criteria(self) -> list[str]:
        return sorted({name for name, _ in self.params})


def _code_q(token: str) -> Q:
    """One code token: system|code, or a code of any of the three systems."""
    system, bar, code = token.partition("|")
    if not bar:
        system, code = "", token
    if not code:
        return NOTHING
    dmd = (Q(dmd_id=code) | Q(previous_dmd_id=code)) & ~Q(source="curated") & Q(dmd_id__regex=r"^\d+$")
    dmd |= Q(pk__in=AMP.objects.filter(dmd_id=code).values("vmp_id"))
    local = Q(dmd_id=code) & (Q(source="curated") | ~Q(dmd_id__regex=r"^\d+$"))
    gtin = code.zfill(14) if code.isdigit() and len(code) <= 14 else code
    pack = Q(pk__in=PackGTIN.objects.filter(gtin=gtin).values("ampp__amp__vmp_id"))
    by_system = {DMD: dmd, local_medicine_system(): local, GTIN: pack}
    if system:
        return by_system.get(system, NOTHING)
    return dmd | local | pack


def parse_medication_search(query: QueryDict) -> MedicationSearch:
    """Check the query string; unknown or wrongly repeated parameters are refused."""
    check_parameters(query, {"code", "_count", "_offset"}, repeatable={"code"})
    count, offset = paging(query, DEFAULT_COUNT, MAX_COUNT)
    # Each repeat of code narrows (AND); commas inside one widen (OR).
    where = reduce(
        and_,
        (reduce(or_, (_code_q(t.strip()) for t in value.split(","))) for value in query.getlist("code")),
        Q(),
    )
    params = [(k, v) for k in query if not k.startswith("_") for v in query.getlist(k)]
    return MedicationSearch(where=where, count=count, offset=offset, params=params)


def medication_page(search: MedicationSearch) -> SearchPage[VMP]:
    queryset = VMP.objects.filter(search.where)
    total = queryset.count()
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    window = medications().filter(search.where).order_by("name", "pk")
    return SearchPage(total=total, items=list(window[search.offset : search.offset + search.count]))


# --- MedicationRequest (a Prescription) -----------------------------------------------------------


def _medication(vmp: VMP) -> dict[str, Any]:
    return {"reference": f"Medication/{vmp.pk}", "display": vmp.name}


def _practitioner(user: Any) -> dict[str, Any]:
    return {"type": "Practitioner", "display": str(user)}


def _period(minutes: int) -> dict[str, Any]:
    if minutes % 60 == 0:
        return {"frequency": 1, "period": minutes // 60, "periodUnit": "h"}
    return {"frequency": 1, "period": minutes, "periodUnit": "min"}


def dosage_text(p: Prescription) -> str:
    """The dose as a ward reads it: "1000 mg Oral at 08:00, 12:00"."""
    head = f"{p.dose_text} {p.route}"
    if p.kind == PrescriptionKind.REGULAR:
        return f"{head} at {', '.join(p.times_of_day)}"
    if p.kind == PrescriptionKind.ONCE:
        return f"{head} once only, at {timezone.localtime(p.starts_at):%H:%M on %d-%b-%Y}"
    parts = [f"{head} when required" + (f" for {p.indication}" if p.indication else "")]
    if p.min_interval_minutes:
        parts.append(f"at least {p.interval_text} apart")
    if p.max_doses_in_24_hours:
        parts.append(f"at most {p.max_doses_in_24_hours} doses in 24 hours")
    return ", ".join(parts)


def _timing(p: Prescription) -> dict[str, Any] | None:
    if p.kind == PrescriptionKind.REGULAR:
        return {"repeat": {"timeOfDay": [f"{t}:00" for t in p.times_of_day]}}
    if p.kind == PrescriptionKind.ONCE:
        return {"event": [instant(timezone.localtime(p.starts_at))], "repeat": {"count": 1}}
    return {"repeat": _period(p.min_interval_minutes)} if p.min_interval_minutes else None


def dosage(p: Prescription) -> dict[str, Any]:
    as_required = p.kind == PrescriptionKind.AS_REQUIRED
    most = p.max_doses_in_24_hours if as_required else None
    return {
        "text": dosage_text(p),
        "timing": _timing(p),
        # R4 takes one of the two: the indication, when there is one, says it is as required.
        "asNeededBoolean": True if as_required and not p.indication else None,
        "asNeededCodeableConcept": {"text": p.indication} if as_required and p.indication else None,
        "route": {"text": p.route},
        "doseAndRate": [{"doseQuantity": quantity(p.dose_value, p.dose_unit)}],
        "maxDosePerPeriod": {
            "numerator": quantity(p.dose_value * most, p.dose_unit),
            "denominator": {"value": 24, "unit": "hours", "system": UCUM, "code": "h"},
        }
        if most
        else None,
    }


def _status_reason(p: Prescription) -> dict[str, Any] | None:
    reason = {PrescriptionStatus.STOPPED: p.stop_reason, ENTERED_IN_ERROR: p.error_reason}.get(p.status)
    return {"text": reason} if reason else None


def request_entry(p: Prescription) -> dict[str, Any]:
    """The MedicationRequest, unvalidated: for a Bundle that is validated as a whole."""
    code, display = CATEGORIES[Setting(p.setting)]
    notes = [p.notes_for_administration]
    if p.review_on:
        notes.append(f"Review on {p.review_on.isoformat()}")
    return {
        "resourceType": "MedicationRequest",
        "id": str(p.pk),
        "meta": {"versionId": str(p.version), "profile": [REQUEST_PROFILE]},
        "status": p.status,
        "statusReason": _status_reason(p),
        "intent": ORDER,
        "category": [codeable_concept((REQUEST_CATEGORY, code, display))],
        "medicationReference": _medication(p.vmp),
        "subject": {"reference": f"Patient/{p.patient_id}"},
        "authoredOn": instant(timezone.localtime(p.prescribed_at)),
        "requester": _practitioner(p.prescribed_by),
        "reasonCode": [{"text": p.indication}] if p.indication else None,
        "note": [{"text": text} for text in notes if text],
        "dosageInstruction": [dosage(p)],
        "dispenseRequest": {
            "validityPeriod": {
                "start": instant(timezone.localtime(p.starts_at)),
                "end": instant(timezone.localtime(p.ends_at)) if p.ends_at else None,
            }
        },
        # Prescribed by brand: the Medication is the generic product, so say the brand may not be swapped.
        "substitution": {"allowedBoolean": False, "reason": {"text": f"Prescribed by brand: {p.amp}"}}
        if p.amp_id
        else None,
        "priorPrescription": {"reference": f"MedicationRequest/{p.replaces_id}"} if p.replaces_id else None,
    }


def prescriptions() -> QuerySet[Prescription]:
    return Prescription.objects.select_related("vmp", "amp", "prescribed_by", "patient")


def _request_status_q(code: str) -> Q:
    return Q(status=code) if code in REQUEST_STATUSES else NOTHING


def _category_q(code: str) -> Q:
    settings_of = {fhir_code: setting for setting, (fhir_code, _) in CATEGORIES.items()}
    return Q(setting=settings_of[code]) if code in settings_of else NOTHING


REQUEST_SEARCH = SearchSpec(
    resource_type="MedicationRequest",
    tokens={
        "status": (REQUEST_STATUS, _request_status_q),
        "intent": (REQUEST_INTENT, lambda code: Q() if code == ORDER else NOTHING),
        "category": (REQUEST_CATEGORY, _category_q),
    },
    instants={"authoredon": "prescribed_at"},
)


# --- MedicationAdministration ---------------------------------------------------------------------


def _administration_status(a: Administration) -> str:
    if a.entered_in_error:
        return ENTERED_IN_ERROR
    return COMPLETED if a.outcome == AdministrationOutcome.GIVEN else NOT_DONE


def _performer(user: Any, function: str) -> dict[str, Any]:
    concept = codeable_concept((PERFORMER_FUNCTION, function, function.capitalize()))
    return {"function": concept, "actor": _practitioner(user)}


def _batch_note(a: Administration) -> str:
    parts = [f"Batch {a.batch}" if a.batch else "", f"expiry {a.expiry.isoformat()}" if a.expiry else ""]
    text = ", ".join(part for part in parts if part)
    return text[:1].upper() + text[1:]


def administration_entry(a: Administration) -> dict[str, Any]:
    """The MedicationAdministration, unvalidated: for a Bundle that is validated as a whole."""
    reasons = dict(policy.not_given_reasons())
    not_given = a.outcome == AdministrationOutcome.NOT_GIVEN
    performers = [_performer(a.recorded_by, "performer")]
    if a.witness_id:
        performers.append(_performer(a.witness, "witness"))
    return {
        "resourceType": "MedicationAdministration",
        "id": str(a.pk),
        "meta": {"profile": [ADMINISTRATION_PROFILE]},
        "status": _administration_status(a),
        "statusReason": [{"text": reasons.get(a.not_given_reason, a.not_given_reason)}]
        if not_given
        else None,
        "medicationReference": _medication(a.prescription.vmp),
        "subject": {"reference": f"Patient/{a.patient_id}"},
        "effectiveDateTime": instant(timezone.localtime(a.at)),
        "performer": performers,
        "request": {"reference": f"MedicationRequest/{a.prescription_id}"},
        "note": [{"text": text} for text in (_batch_note(a), a.not_given_text) if text],
        # FHIR's dosage needs a dose (mad-1): a dose not given has none.
        "dosage": {
            "route": {"text": a.route} if a.route else None,
            "dose": quantity(a.dose_value, a.dose_unit),
        }
        if a.dose_value is not None
        else None,
    }


def administrations() -> QuerySet[Administration]:
    return Administration.objects.select_related("prescription__vmp", "recorded_by", "witness", "patient")


def _administration_status_q(code: str) -> Q:
    return {
        COMPLETED: Q(status=EntryStatus.FINAL, outcome=AdministrationOutcome.GIVEN),
        NOT_DONE: Q(status=EntryStatus.FINAL, outcome=AdministrationOutcome.NOT_GIVEN),
        ENTERED_IN_ERROR: Q(status=EntryStatus.ENTERED_IN_ERROR),
    }.get(code, NOTHING)


ADMINISTRATION_SEARCH = SearchSpec(
    resource_type="MedicationAdministration",
    tokens={"status": (ADMINISTRATION_STATUS, _administration_status_q)},
    instants={"effective-time": "at"},
)


# --- A page of a patient's rows -------------------------------------------------------------------


def patient_page(rows: QuerySet[Any], search: ClinicalSearch, column: str) -> SearchPage[Any]:
    """One page of the matching rows, by `column`, in two queries (a count, then the page)."""
    matching = rows.filter(search.where)
    if search.patient_id is not None:
        matching = matching.filter(patient_id=search.patient_id)
    total = matching.count()
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    order = (f"-{column}", "-pk") if search.newest_first else (column, "pk")
    return SearchPage(
        total=total, items=list(matching.order_by(*order)[search.offset : search.offset + search.count])
    )


def found(rows: Iterable[Prescription | Administration]) -> list[tuple[int, str]]:
    """(patient id, resource id) of each row, for the search's audit rows."""
    return [(row.patient_id, str(row.pk)) for row in rows]
