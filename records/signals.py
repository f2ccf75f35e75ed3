"""Domain events of the patient record, sent after commit; higher layers listen."""

from django.dispatch import Signal

patient_registered = Signal()  # patient
patient_admitted = Signal()  # encounter
patient_transferred = Signal()  # encounter, from_ward, to_ward
patient_discharged = Signal()  # encounter
patients_merged = Signal()  # merge
patients_unmerged = Signal()  # merge
allergy_recorded = Signal()  # allergy: a new allergy or intolerance (not "no known allergies")
