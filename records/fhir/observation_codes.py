"""The vital signs as FHIR codes them: LOINC and SNOMED CT codings, UCUM units and UK Core profiles for
each parameter an ObservationSet holds, the ACVPU value set and the NEWS2 sub-score codes."""

from __future__ import annotations

from dataclasses import dataclass

from epr.fhir.resources import UK_CORE, Coding
from records.rules import news2

LOINC = "http://loinc.org"


SNOMED = "http://snomed.info/sct"


UCUM = "http://unitsofmeasure.org"


CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"


DATA_ABSENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


VITAL_SIGNS = "vital-signs"


SURVEY = "survey"


CATEGORY_DISPLAY = {VITAL_SIGNS: "Vital Signs", SURVEY: "Survey"}


FHIR_SOURCE = "fhir"


@dataclass(frozen=True)
class Unit:
    code: str  # the UCUM code we send
    display: str
    accepted: frozenset[str]  # UCUM codes we take in (case matters in UCUM, so list each spelling)


@dataclass(frozen=True)
class Parameter:
    """One kind of Observation a set can show: its id suffix, profile, codes and unit."""

    key: str
    text: str
    profile: str
    category: str
    codings: tuple[Coding, ...]
    fields: tuple[str, ...]  # the model fields that hold it; it exists when any of them is recorded
    unit: Unit | None = None


# Units as CLINICAL.md section 12 gives them; any UCUM spelling of "per minute" is taken in.
PER_MINUTE = frozenset({"/min", "{Breaths}/min", "{breaths}/min", "{Beats}/min", "{beats}/min"})


BREATHS = Unit("{Breaths}/min", "breaths per minute", PER_MINUTE)


BEATS = Unit("{beats}/min", "beats per minute", PER_MINUTE)


PERCENT = Unit("%", "%", frozenset({"%"}))


LITRES_PER_MINUTE = Unit("l/min", "litre per minute", frozenset({"l/min", "L/min"}))


MM_HG = Unit("mm[Hg]", "mmHg", frozenset({"mm[Hg]"}))


CELSIUS = Unit("Cel", "degrees C", frozenset({"Cel"}))


KG = Unit("kg", "kg", frozenset({"kg"}))


CM = Unit("cm", "cm", frozenset({"cm"}))


SCORE = Unit("{ScoreOf}", "score", frozenset({"{ScoreOf}", "{score}"}))


RR = Parameter(
    "rr",
    "Respiration rate",
    f"{UK_CORE}UKCore-Observation-RespirationRate",
    VITAL_SIGNS,
    ((LOINC, "9279-1", "Respiratory rate"), (SNOMED, "86290005", "Respiratory rate")),
    ("respiration_rate",),
    BREATHS,
)


SPO2 = Parameter(
    "spo2",
    "Oxygen saturation",
    f"{UK_CORE}UKCore-Observation-OxygenSaturation",
    VITAL_SIGNS,
    (
        (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        (LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
        (SNOMED, "103228002", "Haemoglobin saturation with oxygen"),
    ),
    ("spo2",),
    PERCENT,
)


# Air or oxygen: the code itself says which (UK Core InspiredOxygen); the flow, if known, is the value.
ROOM_AIR: Coding = (SNOMED, "722742002", "Breathing room air")


ON_OXYGEN: Coding = (SNOMED, "371825009", "Patient on oxygen")


O2 = Parameter(
    "o2",
    "Air or oxygen",
    f"{UK_CORE}UKCore-Observation-InspiredOxygen",
    VITAL_SIGNS,
    (ROOM_AIR, ON_OXYGEN),
    ("on_oxygen",),
    LITRES_PER_MINUTE,
)


BP = Parameter(
    "bp",
    "Blood pressure",
    f"{UK_CORE}UKCore-Observation-BloodPressure",
    VITAL_SIGNS,
    (
        (LOINC, "85354-9", "Blood pressure panel with all children optional"),
        (SNOMED, "75367002", "Blood pressure"),
    ),
    ("systolic_bp", "diastolic_bp"),
    MM_HG,
)


SYSTOLIC: tuple[Coding, ...] = (
    (LOINC, "8480-6", "Systolic blood pressure"),
    (SNOMED, "72313002", "Systolic arterial pressure"),
)


DIASTOLIC: tuple[Coding, ...] = (
    (LOINC, "8462-4", "Diastolic blood pressure"),
    (SNOMED, "1091811000000102", "Diastolic arterial pressure"),
)


HR = Parameter(
    "hr",
    "Heart rate",
    f"{UK_CORE}UKCore-Observation-HeartRate",
    VITAL_SIGNS,
    ((LOINC, "8867-4", "Heart rate"), (SNOMED, "364075005", "Heart rate")),
    ("pulse",),
    BEATS,
)


ACVPU = Parameter(
    "acvpu",
    "Consciousness (ACVPU)",
    f"{UK_CORE}UKCore-Observation-ACVPU",
    SURVEY,
    ((SNOMED, "1104441000000107", "Alert Confusion Voice Pain Unresponsive scale score"),),
    ("consciousness",),
)


TEMP = Parameter(
    "temp",
    "Body temperature",
    f"{UK_CORE}UKCore-Observation-BodyTemperature",
    VITAL_SIGNS,
    ((LOINC, "8310-5", "Body temperature"), (SNOMED, "276885007", "Core body temperature")),
    ("temperature",),
    CELSIUS,
)


WEIGHT = Parameter(
    "weight",
    "Body weight",
    f"{UK_CORE}UKCore-Observation-BodyWeight",
    VITAL_SIGNS,
    ((LOINC, "29463-7", "Body weight"), (SNOMED, "27113001", "Body weight")),
    ("weight",),
    KG,
)


HEIGHT = Parameter(
    "height",
    "Body height",
    f"{UK_CORE}UKCore-Observation-BodyHeight",
    VITAL_SIGNS,
    ((LOINC, "8302-2", "Body height"), (SNOMED, "50373000", "Body height measure")),
    ("height",),
    CM,
)


NEWS2 = Parameter(
    "news2",
    "NEWS2 total score",
    f"{UK_CORE}UKCore-Observation-EarlyWarningTotalScore",
    SURVEY,
    (
        (
            SNOMED,
            "1104051000000101",
            "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
        ),
    ),
    ("news2_total",),
    SCORE,
)


# In NEWS2 chart order, then the other measurements, then the score: the order within a set everywhere.
PARAMETERS: dict[str, Parameter] = {
    p.key: p for p in (RR, SPO2, O2, BP, HR, ACVPU, TEMP, WEIGHT, HEIGHT, NEWS2)
}


NEWS2_INPUTS = ("rr", "spo2", "o2", "bp", "hr", "acvpu", "temp")


# The UK Core ACVPU value set, to and from the single letter the set stores.
ACVPU_CODES: dict[str, Coding] = {
    news2.Consciousness.ALERT: (SNOMED, "248234008", "Mentally alert"),
    news2.Consciousness.NEW_CONFUSION: (SNOMED, "130987000", "Acute confusion"),
    news2.Consciousness.VOICE: (SNOMED, "300202002", "Responds to voice"),
    news2.Consciousness.PAIN: (SNOMED, "450847001", "Responds to pain"),
    news2.Consciousness.UNRESPONSIVE: (SNOMED, "422768004", "Unresponsive"),
}


# NEWS2 sub-scores, as components of the total (SNOMED CT, as in NHS England's NEWS2 FHIR guidance).
_RCP = "Royal College of Physicians National Early Warning Score 2 -"


SUB_SCORES: dict[str, Coding] = {
    "respiration_rate": (SNOMED, "1104301000000104", f"{_RCP} respiration rate score"),
    "spo2": (SNOMED, "1104311000000102", f"{_RCP} oxygen saturation scale 1 score"),
    "on_oxygen": (SNOMED, "1104331000000105", f"{_RCP} air or oxygen score"),
    "systolic_bp": (SNOMED, "1104341000000101", f"{_RCP} systolic blood pressure score"),
    "pulse": (SNOMED, "1104351000000103", f"{_RCP} pulse score"),
    "consciousness": (SNOMED, "1104361000000100", f"{_RCP} consciousness score"),
    "temperature": (SNOMED, "1104371000000107", f"{_RCP} temperature score"),
}


SPO2_SCALE_2_SCORE: Coding = (SNOMED, "1104321000000108", f"{_RCP} oxygen saturation scale 2 score")
