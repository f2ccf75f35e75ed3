"""Demo data: staff for every role, two sites, four wards with bays and beds, a few hundred
synthetic patients with NHS numbers from the 999 test range, and current admissions.

Idempotent: does nothing when the demo staff already exist.
"""

from __future__ import annotations

import binascii
import os
import random
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.utils import bulk_create_with_history

from epr.accounts.models import User
from epr.accounts.services import staff_create
from records import services
from records.models import AdmissionMethod, Patient, Sex, Specialty, Ward
from records.registries.demo import demo_loaders
from records.rules import patients as rules
from records.services.patients import next_hospital_numbers

DEFAULT_PASSWORD = "Ward-Round-2026"  # noqa: S105 (demo only; README gives it)
# Base32 JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP, shown in the README so the demo admin can set up an authenticator.
DEFAULT_ADMIN_TOTP_HEX = "48656c6c6f21deadbeef48656c6c6f21deadbeef"

FAMILY = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "O'Brien",
    "Núñez",
    "Müller",
    "Ahmed",
    "Khan",
    "Patel",
    "Nowak",
    "Okafor",
    "Chen",
    "Kowalski",
]
GIVEN_F = ["Olivia", "Amelia", "Isla", "Zoë", "Siobhán", "Aisha", "Mary", "Margaret", "Chloé", "Priya"]
GIVEN_M = ["Oliver", "George", "Harry", "José", "Noah", "Mohammed", "John", "Peter", "Seán", "Arjun"]
STREETS = ["High", "Station", "Church", "Mill", "Park"]
TOWNS = [("Leeds", "LS1 4AP"), ("York", "YO1 7HH"), ("Wakefield", "WF1 2DD"), ("Bradford", "BD1 1HY")]

STAFF = [
    ("doctor", "doctor", "Rhiannon", "Price", "core"),
    ("nurse", "nurse", "Grace", "Okoye", "nurse"),
    ("hca", "hca", "Tom", "Fletcher", ""),
    ("pharmacist", "pharmacist", "Imran", "Shah", ""),
    ("pharmtech", "pharmtech", "Beth", "Lloyd", ""),
    ("clerk", "clerk", "Sandra", "Hill", ""),
    ("manager", "manager", "David", "Marsh", ""),
    ("admin", "admin", "Ada", "Byrne", ""),
    ("nurse2", "nurse", "Femi", "Adeyemi", "nurse"),
    ("consultant2", "doctor", "Hannah", "Ross", "consultant"),
]

WARDS = [
    ("RXX01", "St Luke's Hospital", [("SL-A1", "Ward A1 (Acute Medicine)"), ("SL-B2", "Ward B2 (Surgery)")]),
    (
        "RXX02",
        "Riverside Community Hospital",
        [("RC-OAK", "Oak Ward (Elderly Care)"), ("RC-ASH", "Ash Ward (Rehab)")],
    ),
]


def demo_nhs_number(n: int) -> str:
    base = 999_000_000 + 7 * n + 11
    while rules.nhs_number_check_digit(f"{base:09d}") is None:
        base += 1
    return f"{base:09d}{rules.nhs_number_check_digit(f'{base:09d}')}"


class Command(BaseCommand):
    help = "Load demo staff, wards, patients and admissions (skipped if already loaded)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, patients: int, seed: int, **options) -> None:
        if User.objects.filter(username="clerk").exists():
            self.stdout.write("Demo data already loaded.")
            self._other_apps()
            return
        random.seed(seed)
        with transaction.atomic():
            staff = self._staff()
            wards = self._wards(staff)
            teams = self._teams(staff)
            people = self._patients(patients)
            encounters = self._admissions(people, wards, staff, teams)
            self._clinical_record(encounters, staff)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {len(STAFF)} staff, {len(wards)} wards, {len(people)} patients."
            )
        )
        self._other_apps()

    def _other_apps(self) -> None:
        """Each app's own demo data (records.registries.demo), after the patients it is about."""
        for loader in demo_loaders():
            self.stdout.write(loader.load(self.stdout.write))

    def _staff(self) -> dict[str, User]:
        password = os.environ.get("DEMO_PASSWORD", DEFAULT_PASSWORD)
        staff = {
            username: staff_create(
                username=username, password=password, role=role, first_name=first, last_name=last, grade=grade
            )
            for username, role, first, last, grade in STAFF
        }
        key = os.environ.get("DEMO_ADMIN_TOTP_HEX", DEFAULT_ADMIN_TOTP_HEX)
        binascii.unhexlify(key)
        TOTPDevice.objects.create(user=staff["admin"], name="Demo authenticator", key=key, confirmed=True)
        return staff

    def _wards(self, staff: dict[str, User]) -> list[Ward]:
        wards = []
        for site_code, site_name, site_wards in WARDS:
            site = services.site_create(code=site_code, name=site_name)
            for code, name in site_wards:
                bays = {f"Bay {b}": [f"{b}{i}" for i in range(1, 7)] for b in "ABC"}
                bays["Side rooms"] = ["SR1", "SR2"]
                wards.append(services.ward_create(site=site, code=code, name=name, bays=bays))
        services.ward_add_staff(
            ward=wards[0], users=[staff["nurse"], staff["hca"], staff["pharmacist"], staff["pharmtech"]]
        )
        services.ward_add_staff(ward=wards[1], users=[staff["nurse2"], staff["pharmacist"]])
        return wards

    def _teams(self, staff: dict[str, User]):
        return [
            services.team_create(
                name="Dr Price - Acute Medicine",
                specialty=Specialty.GENERAL_MEDICINE,
                consultant=staff["doctor"],
            ),
            services.team_create(
                name="Dr Ross - General Surgery",
                specialty=Specialty.GENERAL_SURGERY,
                consultant=staff["consultant2"],
            ),
            # Alerts for a patient with no ward or team (a feed's observations) go to outreach.
            services.team_create(
                name=settings.EPR_ALERT_FALLBACK_TEAM,
                specialty=Specialty.GENERAL_MEDICINE,
                consultant=staff["doctor"],
                members=[staff["nurse2"]],
            ),
        ]

    def _patients(self, count: int) -> list[Patient]:
        numbers = next_hospital_numbers(count)
        people = []
        for n in range(count):
            sex = random.choice([Sex.FEMALE, Sex.MALE])
            town, postcode = random.choice(TOWNS)
            patient = Patient(
                nhs_number=demo_nhs_number(n),
                nhs_number_status="01",
                hospital_number=numbers[n],
                family_name=random.choice(FAMILY),
                given_names=random.choice(GIVEN_F if sex == Sex.FEMALE else GIVEN_M),
                date_of_birth=date(1930, 1, 1) + timedelta(days=random.randint(0, 33000)),
                sex=sex,
                address_line_1=f"{random.randint(1, 200)} {random.choice(STREETS)} Street",
                town=town,
                postcode=postcode,
                phone=f"0113 496 {random.randint(0, 9999):04d}",
                gp_practice_code="B86001",
                gp_practice_name="Demo Medical Practice",
                preferred_language="English",
            )
            patient.family_name_key = rules.search_key(patient.family_name)
            patient.given_names_key = rules.search_key(patient.given_names)
            people.append(patient)
        return bulk_create_with_history(people, Patient, batch_size=1000, default_change_reason="Demo data")

    def _admissions(self, people, wards, staff, teams) -> list:
        encounters = []
        admitted = random.sample(list(people), k=min(len(people), 60))
        now = timezone.now()
        for ward_index, ward in enumerate(wards):
            beds = list(ward.beds.order_by("bay__name", "label"))
            team = teams[ward_index % 2]
            for bed, patient in zip(
                beds[:15], admitted[ward_index * 15 : (ward_index + 1) * 15], strict=False
            ):
                encounter = services.encounter_admit(
                    admitted_by=staff["clerk"],
                    patient=patient,
                    ward=ward,
                    bed=bed,
                    consultant=team.consultant,
                    team=team,
                    specialty=team.specialty,
                    admission_method=random.choice([AdmissionMethod.EMERGENCY_ED, AdmissionMethod.ELECTIVE]),
                    admitted_at=now - timedelta(hours=random.randint(2, 240)),
                )
                encounters.append(encounter)
        return encounters

    def _clinical_record(self, encounters, staff) -> None:
        """Observations every four hours since admission, and allergies and problems for some patients."""
        nurse, doctor = staff["nurse"], staff["doctor"]
        now = timezone.now()
        for index, encounter in enumerate(encounters):
            patient = encounter.patient
            unwell = index % 9 == 0  # a few deteriorating patients, to show the chart and alerts
            taken = encounter.admitted_at + timedelta(minutes=30)
            step = 0
            while taken < now - timedelta(minutes=20) and step < 18:
                worse = unwell and step >= 3
                services.observation_set_record(
                    recorded_by=nurse if step % 2 else staff["hca"],
                    patient=patient,
                    taken_at=taken,
                    respiration_rate=random.randint(22, 26) if worse else random.randint(13, 19),
                    spo2=random.randint(91, 94) if worse else random.randint(95, 99),
                    on_oxygen=worse,
                    oxygen_flow=Decimal("2") if worse else None,
                    oxygen_device="nasal" if worse else "",
                    systolic_bp=random.randint(95, 108) if worse else random.randint(112, 145),
                    diastolic_bp=random.randint(55, 70),
                    pulse=random.randint(105, 125) if worse else random.randint(60, 88),
                    consciousness="A",
                    temperature=Decimal(
                        str(round(random.uniform(38.2, 39.0) if worse else random.uniform(36.3, 37.4), 1))
                    ),
                )
                taken += timedelta(hours=4)
                step += 1
            if index % 3 == 0:
                services.allergy_record(
                    recorded_by=nurse,
                    patient=patient,
                    substance_code=random.choice(["764146007", "387207008", "256349002", "111088007"]),
                    reaction="Rash",
                    severity="moderate",
                    verification="confirmed",
                )
            elif index % 3 == 1:
                services.allergy_record_none_known(recorded_by=nurse, patient=patient)
            self._ward_plans(encounter, doctor, index, now)
            services.problem_record(
                recorded_by=doctor,
                patient=patient,
                snomed_code=random.choice(
                    ["233604007", "49436004", "84114007", "13645005", "44054006", "68566005"]
                ),
            )

    def _ward_plans(self, encounter, doctor, index: int, now) -> None:
        """An expected discharge date for most patients, and a resuscitation and escalation decision for
        some (a few not for CPR), so the whiteboard and banner show what a ward's would."""
        if index % 4 != 3:
            services.encounter_set_expected_discharge(
                set_by=doctor,
                encounter=encounter,
                expected=timezone.localdate() + timedelta(days=random.randint(0, 6)),
                expected_version=encounter.version,
            )
        if index % 5 == 0:
            dnacpr = index % 10 == 0
            services.escalation_plan_record(
                recorded_by=doctor,
                patient=encounter.patient,
                cpr_decision="dnacpr" if dnacpr else "attempt",
                escalation_level="ward" if dnacpr else "full",
                decided_by=f"{doctor.get_full_name()}, consultant",
                discussed_with="The patient" if index % 3 else "Her daughter (the patient lacks capacity)",
            )
