"""The pharmacist's verification queue: active prescriptions not yet verified (awaiting, or queried
and answered), oldest first, for patients on the pharmacist's wards. Also the prescriber's open
queries. Constant queries however long the queue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch

from prescribing.models import (
    Administration,
    PharmacyReview,
    Prescription,
    PrescriptionCheck,
    PrescriptionStatus,
    Verification,
)
from records.models import (
    ENTERED_IN_ERROR,
    AllergyIntolerance,
    AllergyKind,
    ClinicalStatus,
    Ward,
    WardStay,
)


@dataclass(frozen=True)
class QueueItem:
    prescription: Prescription
    stay: WardStay
    allergies: tuple[str, ...] = ()  # the patient's recorded allergies, as the pharmacist checks them


def _allergies_by_patient(patient_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for allergy in (
        AllergyIntolerance.objects.filter(patient_id__in=patient_ids, clinical_status=ClinicalStatus.ACTIVE)
        .exclude(status=ENTERED_IN_ERROR)
        .exclude(kind=AllergyKind.NO_KNOWN_ALLERGY)
        .only("patient_id", "kind", "substance_display", "substance_text")
        .order_by("patient_id", "pk")
    ):
        found[allergy.patient_id].append(allergy.substance)
    return found


def verification_queue(wards: list[Ward], patient_ids: set[int] | None = None) -> list[QueueItem]:
    """Prescriptions to verify on these wards, oldest first; `patient_ids` limits them to the patients
    the pharmacist may see clinically."""
    stays = {
        s.encounter.patient_id: s
        for s in WardStay.objects.filter(ward__in=wards, ended_at__isnull=True).select_related(
            "ward", "bed__bay", "encounter__patient"
        )
    }
    wanted = set(stays) if patient_ids is None else set(stays) & patient_ids
    found = (
        Prescription.objects.filter(
            patient_id__in=wanted,
            status=PrescriptionStatus.ACTIVE,
            verification__in=[Verification.AWAITING, Verification.QUERIED],
        )
        .select_related("vmp", "amp", "prescribed_by", "patient")
        .prefetch_related(
            Prefetch("reviews", queryset=PharmacyReview.objects.select_related("by")),
            Prefetch("checks", queryset=PrescriptionCheck.objects.select_related("decided_by")),
        )
        .annotate(
            given_unverified=Exists(
                Administration.objects.filter(prescription=OuterRef("pk"), given_unverified=True).exclude(
                    status=ENTERED_IN_ERROR
                )
            )
        )
        .order_by("prescribed_at", "pk")
    )
    allergies = _allergies_by_patient(wanted)
    return [QueueItem(p, stays[p.patient_id], tuple(allergies.get(p.patient_id, ()))) for p in found]


def open_queries_for(prescriber: Any) -> list[Prescription]:
    """The prescriber's prescriptions the pharmacist has queried and they have not yet answered."""
    return list(
        Prescription.objects.filter(
            prescribed_by=prescriber, status=PrescriptionStatus.ACTIVE, verification=Verification.QUERIED
        )
        .select_related("vmp", "patient")
        .prefetch_related(Prefetch("reviews", queryset=PharmacyReview.objects.select_related("by")))
        .order_by("prescribed_at")
    )


def open_query_count(prescriber: Any) -> int:
    return Prescription.objects.filter(
        prescribed_by=prescriber, status=PrescriptionStatus.ACTIVE, verification=Verification.QUERIED
    ).count()
