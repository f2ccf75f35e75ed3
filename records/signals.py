"""Domain events of the patient record, sent after commit; higher layers listen."""

from django.dispatch import Signal

patient_registered = Signal()  # patient
patient_admitted = Signal()  # encounter
patient_transferred = Signal()  # encounter, from_ward, to_ward
patient_discharged = Signal()  # encounter
patients_merged = Signal()  # merge
patients_unmerged = Signal()  # merge
weight_recorded = Signal()  # observation_set: a set with a weight in it
allergy_recorded = Signal()  # allergy: a new allergy or intolerance (not "no known allergies")
