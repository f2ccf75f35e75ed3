"""The documents' part of the demo (manage.py seed_demo, through records.registries.demo): a patient
admitted three days ago under the demo doctor's firm and discharged two hours ago (the team still has
access for letters), whose discharge summary was written, signed and sent to the GP outbox through the
same services a doctor uses. Idempotent: nothing is added once any document is signed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from epr.accounts.models import User
from records import services as records_services
from records.models import DischargeDestination, Encounter, EncounterStatus, Patient, Specialty, Team, Ward
from scheduling.models import ClinicalDocument, DeliveryState, DocumentStatus
from scheduling.services.delivery import SendFailed, delivery_send
from scheduling.services.documents import discharge_summary_start, document_save, document_sign

SUMMARY = (
    "Admitted with community-acquired pneumonia (CURB-65 score 1). Treated with oral amoxicillin; "
    "oxygen weaned on day 2. Afebrile for 24 hours before discharge, eating and mobile."
)
PLAN = "GP: please review in one week and repeat the chest X-ray in six weeks to confirm resolution."
ADVICE = "Told to finish the antibiotic course and to come back if breathless or feverish again."


def _patient() -> Patient | None:
    inside = Encounter.objects.filter(status=EncounterStatus.ACTIVE).values("patient_id")
    return (
        Patient.objects.filter(date_of_death__isnull=True)
        .exclude(gp_practice_code="")
        .exclude(pk__in=inside)
        .order_by("-pk")
        .first()
    )


def load_documents_demo(write: Callable[[str], Any]) -> str:
    if ClinicalDocument.objects.filter(status=DocumentStatus.SIGNED).exists():
        return "Documents: already loaded."
    doctor = User.objects.filter(username="doctor").first()
    clerk = User.objects.filter(username="clerk").first() or doctor
    ward = Ward.objects.filter(code="SL-A1").first() or Ward.objects.order_by("pk").first()
    patient = _patient()
    if doctor is None or ward is None or patient is None:
        return "Documents: no demo doctor, ward or patient to use."
    # The doctor's own firm, so the team keeps access to the record through the grace period.
    firm = Team.objects.filter(encounters__consultant=doctor).order_by("pk").first()
    with transaction.atomic():
        now = timezone.now()
        encounter = records_services.encounter_admit(
            admitted_by=clerk,
            patient=patient,
            ward=ward,
            bed=None,
            consultant=doctor,
            team=firm,
            specialty=Specialty.GENERAL_MEDICINE,
            admission_method="21",
            admitted_at=now - timedelta(days=3),
        )
        records_services.encounter_discharge(
            discharged_by=doctor,
            encounter=encounter,
            destination=DischargeDestination.HOME,
            discharged_at=now - timedelta(hours=2),  # within the care grace period: letters
        )
    # The discharge started the draft (scheduling listens for it); the doctor completes and signs it.
    document = discharge_summary_start(encounter=encounter, author=doctor)
    texts = {"clinical-summary": SUMMARY, "plan": PLAN, "information-given": ADVICE}
    document = document_save(document=document, texts=texts, version=document.version, saved_by=doctor)
    document = document_sign(document=document, version=document.version, signed_by=doctor)
    # Written now rather than waiting for a worker, so the demo's outbox holds it at once (the queued
    # task then finds it sent and writes nothing twice).
    for queued in document.deliveries.filter(state=DeliveryState.QUEUED):
        try:
            delivery_send(delivery_id=queued.pk)
        except SendFailed:
            write("Documents: the outbox could not be written; the beat task will try again.")
    return f"Documents: a signed discharge summary for {patient.display_name}, sent to the GP outbox."
