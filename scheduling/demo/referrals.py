"""The referrals part of the demo (manage.py seed_demo, through records.registries.demo): referrals
waiting for triage (one two-week wait, one urgent, routine ones), and a waiting list triaged through
the same service a consultant uses, with waits from a few weeks to one that has breached the 18
weeks and two within a fortnight of breaching. Idempotent: nothing is added once referrals exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from epr.accounts.models import User
from records.models import Patient, PatientStatus, Team
from scheduling.models import Referral, ReferralPriority, ReferralSource, WaitingKind
from scheduling.services.referrals import Outcome, ReferralDetails, Triage, referral_register, referral_triage

TO_TRIAGE = (
    # days since received, priority, service, reason
    (1, ReferralPriority.TWO_WEEK_WAIT, "Lower GI cancer clinic", "Rectal bleeding and weight loss, age 68."),
    (
        3,
        ReferralPriority.URGENT,
        "Cardiology clinic",
        "Exertional chest pain, ECG shows new T-wave inversion.",
    ),
    (9, ReferralPriority.ROUTINE, "General medicine clinic", "Recurrent falls; please assess."),
    (16, ReferralPriority.ROUTINE, "Respiratory clinic", "Chronic cough for 4 months, normal chest X-ray."),
)
WAITING = (
    # days since received: 130 has breached; 120 and 115 breach within a fortnight
    (130, WaitingKind.ADMISSION, "Laparoscopic cholecystectomy"),
    (120, WaitingKind.OUTPATIENT, ""),
    (115, WaitingKind.ADMISSION, "Inguinal hernia repair"),
    (80, WaitingKind.OUTPATIENT, ""),
    (45, WaitingKind.OUTPATIENT, ""),
    (12, WaitingKind.ADMISSION, "Excision of sebaceous cyst"),
)


def _details(days: int, priority: str, service: str, reason: str, specialty: str) -> ReferralDetails:
    return ReferralDetails(
        source=ReferralSource.GP,
        electronic=True,
        ubrn=f"{100000000000 + days:012d}",
        referrer_name="Dr A Patel",
        referrer_organisation="Y01234",
        specialty=specialty,
        service=service,
        priority=priority,
        reason=reason,
        received_on=timezone.localdate() - timedelta(days=days),
    )


def load_referrals_demo(write: Callable[[str], Any]) -> str:
    if Referral.objects.exists():
        return "Referrals already loaded."
    clerk = User.objects.filter(username="clerk").first()
    doctor = User.objects.filter(username="doctor").first()
    medicine = Team.objects.filter(name__contains="Acute Medicine").first()
    surgery = Team.objects.filter(name__contains="General Surgery").first()
    patients = list(
        Patient.objects.filter(status=PatientStatus.ACTIVE).order_by("pk")[
            20 : 20 + len(TO_TRIAGE) + len(WAITING)
        ]
    )
    if clerk is None or doctor is None or medicine is None or surgery is None:
        return "Referrals: no demo staff or teams to refer to."
    if len(patients) < len(TO_TRIAGE) + len(WAITING):
        return "Referrals: not enough demo patients to refer."
    for patient, (days, priority, service, reason) in zip(patients, TO_TRIAGE, strict=False):
        referral_register(
            registered_by=clerk,
            patient=patient,
            details=_details(days, priority, service, reason, medicine.specialty),
            team=medicine,
        )
    for patient, (days, kind, procedure) in zip(patients[len(TO_TRIAGE) :], WAITING, strict=False):
        referral = referral_register(
            registered_by=clerk,
            patient=patient,
            details=_details(
                days,
                ReferralPriority.ROUTINE,
                "General surgery clinic",
                "Symptomatic, for assessment.",
                surgery.specialty,
            ),
            team=surgery,
        )
        referral_triage(
            referral=referral,
            triaged_by=surgery.consultant,
            version=referral.version,
            triage=Triage(outcome=Outcome.ACCEPT, waiting_kind=kind, clinic_type="new", procedure=procedure),
        )
    return (
        f"Referrals: {len(TO_TRIAGE)} waiting for triage, {len(WAITING)} on the general surgery waiting list."
    )
