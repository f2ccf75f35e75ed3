"""FHIR R4 Encounter (UK Core shape): inpatient admissions (records' Encounter, id "adm-<id>", its ward
stays as the location history) and outpatient attendances (an Appointment recorded arrived or seen,
id "att-<id>").

The search reads both in one ordered page (a UNION of the two tables' ids and start times), so paging
runs across them by date: two counts, the page of ids, and one query of each kind's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, Prefetch, Q, QuerySet, Value
from django.http import QueryDict
from django.utils import timezone

from epr.fhir.registry import Capability, SearchParam
from epr.fhir.resources import UK_CORE, codeable_concept, instant
from epr.fhir.search import SearchPage, instant_q
from epr.parsing import ascii_int
from records.fhir.common import patient_id_param
from records.models import Encounter, EncounterStatus, WardStay
from scheduling.fhir import (
    DEFAULT_COUNT,
    MAX_COUNT,
    NOTHING,
    Search,
    checked_query,
    location_reference,
    service_provider,
    sort_newest_first,
    tokens_q,
    trust_system,
)
from scheduling.models import Appointment, AppointmentStatus, SlotType

PROFILE = f"{UK_CORE}UKCore-Encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ENCOUNTER_STATUS = "http://hl7.org/fhir/encounter-status"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INPATIENT = ("IMP", "inpatient encounter")
AMBULATORY = ("AMB", "ambulatory")
VIRTUAL = ("VR", "virtual")
ATTENDED = (AppointmentStatus.ARRIVED, AppointmentStatus.SEEN)
REMOTE = (SlotType.TELEPHONE, SlotType.VIDEO)
ADMISSION, ATTENDANCE = "adm", "att"

CAPABILITY = Capability(
    profile=PROFILE,
    interactions=("read", "search-type"),
    search_params=(
        SearchParam("patient", "reference", "Patient/<id> or <id>; required for staff"),
        SearchParam(
            "date", "date", "When it began (admitted, or the appointment's time), with ge, le, gt, lt, eq"
        ),
        SearchParam("status", "token", "in-progress, finished (discharged, or seen) or arrived"),
        SearchParam("class", "token", f"{ACT_CODE}|IMP (admissions), AMB or VR (telephone and video)"),
        SearchParam("_sort", "string", "-date (latest first, the default) or date"),
        SearchParam("_count", "number", f"Page size, default {DEFAULT_COUNT}, at most {MAX_COUNT}"),
        SearchParam("_offset", "number", "Index of the first result on the page"),
    ),
)


def _class(code: tuple[str, str]) -> dict[str, str]:
    return {"system": ACT_CODE, "code": code[0], "display": code[1]}


def _period(start: Any, end: Any) -> dict[str, str | None]:
    return {
        "start": instant(timezone.localtime(start)),
        "end": instant(timezone.localtime(end)) if end else None,
    }


def _consultant(user: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": [codeable_concept((PARTICIPATION, "ATND", "attender"))],
            "individual": {"type": "Practitioner", "display": user.get_full_name() or str(user)},
        }
    ]


def _stay(stay: WardStay) -> dict[str, Any]:
    where = (
        location_reference("bed", stay.bed.pk, f"{stay.ward.name}, {stay.bed}")
        if stay.bed is not None
        else location_reference("ward", stay.ward_id, stay.ward.name)
    )
    return {
        "location": where,
        "status": "completed" if stay.ended_at else "active",
        "period": _period(stay.started_at, stay.ended_at),
    }


def admission_entry(e: Encounter) -> dict[str, Any]:
    """An admission from admissions(), with its ward stays in order."""
    finished = e.status == EncounterStatus.FINISHED
    return {
        "resourceType": "Encounter",
        "id": f"{ADMISSION}-{e.pk}",
        "meta": {"profile": [PROFILE], "versionId": str(e.version)},
        "identifier": [{"system": trust_system("encounter"), "value": str(e.pk)}],
        "status": "finished" if finished else "in-progress",
        "class": _class(INPATIENT),
        "serviceType": {"text": e.get_specialty_display()},
        "subject": {"reference": f"Patient/{e.patient_id}"},
        "participant": _consultant(e.consultant),
        "period": _period(e.admitted_at, e.discharged_at),
        "hospitalization": {"dischargeDisposition": {"text": e.get_discharge_destination_display()}}
        if finished and e.discharge_destination
        else None,
        "location": [_stay(stay) for stay in e.ward_stays.all()],
        "serviceProvider": service_provider(),
    }


def attendance_entry(a: Appointment) -> dict[str, Any]:
    """An outpatient attendance from attendances()."""
    slot, clinic = a.slot, a.slot.session.clinic
    seen = a.status == AppointmentStatus.SEEN
    return {
        "resourceType": "Encounter",
        "id": f"{ATTENDANCE}-{a.pk}",
        "meta": {"profile": [PROFILE]},
        "identifier": [{"system": trust_system("appointment"), "value": str(a.pk)}],
        "status": "finished" if seen else "arrived",
        "class": _class(VIRTUAL if slot.slot_type in REMOTE else AMBULATORY),
        "serviceType": {"text": clinic.get_specialty_display()},
        "subject": {"reference": f"Patient/{a.patient_id}"},
        "participant": _consultant(clinic.consultant),
        "appointment": [{"reference": f"Appointment/{a.pk}"}],
        "period": _period(slot.starts_at, slot.ends_at if seen else None),
        "location": [{"location": location_reference("clinic", clinic.pk, clinic.name)}],
        "serviceProvider": service_provider(),
    }


def admissions() -> QuerySet[Encounter]:
    stays = WardStay.objects.select_related("ward", "bed__bay").order_by("started_at", "pk")
    return Encounter.objects.select_related("consultant").prefetch_related(
        Prefetch("ward_stays", queryset=stays)
    )


def attendances() -> QuerySet[Appointment]:
    return Appointment.objects.filter(status__in=ATTENDED).select_related("slot__session__clinic__consultant")


def encounter_row(encounter_id: str) -> Encounter | Appointment | None:
    """The admission ("adm-<id>") or attendance ("att-<id>") an Encounter id names, or None."""
    kind, _, number = encounter_id.partition("-")
    pk = ascii_int(number)
    if pk is None:
        return None
    if kind == ADMISSION:
        return admissions().select_related("patient").filter(pk=pk).first()
    if kind == ATTENDANCE:
        return attendances().select_related("patient").filter(pk=pk).first()
    return None


def encounter_entry(row: Encounter | Appointment) -> dict[str, Any]:
    return admission_entry(row) if isinstance(row, Encounter) else attendance_entry(row)


# --- Search ---------------------------------------------------------------------------------------


def _statuses(code: str) -> tuple[Q, Q]:
    """(admissions, attendances) in a FHIR encounter status."""
    return {
        "in-progress": (Q(status=EncounterStatus.ACTIVE), NOTHING),
        "finished": (Q(status=EncounterStatus.FINISHED), Q(status=AppointmentStatus.SEEN)),
        "arrived": (NOTHING, Q(status=AppointmentStatus.ARRIVED)),
    }.get(code, (NOTHING, NOTHING))


def _classes(code: str) -> tuple[Q, Q]:
    return {
        INPATIENT[0]: (Q(), NOTHING),
        AMBULATORY[0]: (NOTHING, ~Q(slot__slot_type__in=REMOTE)),
        VIRTUAL[0]: (NOTHING, Q(slot__slot_type__in=REMOTE)),
    }.get(code, (NOTHING, NOTHING))


def _pair(query: QueryDict, name: str, system: str, of: Any) -> tuple[Q, Q]:
    values = query.getlist(name)
    return (
        tokens_q(values, system, lambda code: of(code)[0]),
        tokens_q(values, system, lambda code: of(code)[1]),
    )


@dataclass(frozen=True, kw_only=True)
class EncounterSearch(Search):
    attendances: Q  # the filters of attendances; `where` is the admissions'


def parse_search(query: QueryDict) -> EncounterSearch:
    count, offset, params = checked_query(
        query, {"patient", "date", "status", "class", "_sort"}, repeatable={"date", "status", "class"}
    )
    newest_first = sort_newest_first(query, default="-date", what="encounters")
    admitted, attended = Q(), Q()
    for value in query.getlist("date"):
        admitted &= instant_q("admitted_at", value)
        attended &= instant_q("slot__starts_at", value)
    for name, system, of in (("status", ENCOUNTER_STATUS, _statuses), ("class", ACT_CODE, _classes)):
        if name in query:
            on_admissions, on_attendances = _pair(query, name, system, of)
            admitted &= on_admissions
            attended &= on_attendances
    patient_id = patient_id_param(str(query["patient"])) if "patient" in query else None
    if patient_id is not None:
        admitted &= Q(patient_id=patient_id)
        attended &= Q(patient_id=patient_id)
    return EncounterSearch(
        where=admitted,
        attendances=attended,
        patient_id=patient_id,
        newest_first=newest_first,
        count=count,
        offset=offset,
        params=params,
    )


def _ids(rows: QuerySet[Any], kind: str, start: str) -> Any:
    return rows.annotate(kind=Value(kind, output_field=CharField()), start=F(start)).values_list(
        "kind", "pk", "start"
    )


def encounter_page(search: EncounterSearch) -> SearchPage[Encounter | Appointment]:
    """Admissions and attendances by start time: two counts, the page's ids, then each kind's rows."""
    admitted = Encounter.objects.filter(search.where)
    attended = Appointment.objects.filter(status__in=ATTENDED).filter(search.attendances)
    total = admitted.count() + attended.count()
    if search.offset >= total:
        return SearchPage(total=total, items=[])
    order = ("-start", "-kind", "-pk") if search.newest_first else ("start", "kind", "pk")
    union = _ids(admitted, ADMISSION, "admitted_at").union(
        _ids(attended, ATTENDANCE, "slot__starts_at"), all=True
    )
    page = list(union.order_by(*order)[search.offset : search.offset + search.count])
    wanted = {kind: [pk for k, pk, _ in page if k == kind] for kind in (ADMISSION, ATTENDANCE)}
    rows: dict[tuple[str, int], Any] = {}
    if wanted[ADMISSION]:
        rows.update(((ADMISSION, e.pk), e) for e in admissions().filter(pk__in=wanted[ADMISSION]))
    if wanted[ATTENDANCE]:
        rows.update(((ATTENDANCE, a.pk), a) for a in attendances().filter(pk__in=wanted[ATTENDANCE]))
    return SearchPage(total=total, items=[rows[(kind, pk)] for kind, pk, _ in page])
