"""The app's pages, under the "prescribing" namespace."""

from django.urls import path

from prescribing.views import administration, catalogue, pharmacy, prescribing, stock

app_name = "prescribing"

urlpatterns = [
    path("patients/<int:patient_id>/medicines/", prescribing.drug_chart, name="drug_chart"),
    path("patients/<int:patient_id>/medicines/choose/", prescribing.medicine_choose, name="medicine_choose"),
    path(
        "patients/<int:patient_id>/medicines/prescribe/<int:vmp_id>/", prescribing.prescribe, name="prescribe"
    ),
    path(
        "patients/<int:patient_id>/medicines/<int:prescription_id>/change/",
        prescribing.prescription_change,
        name="prescription_change",
    ),
    path(
        "patients/<int:patient_id>/medicines/<int:prescription_id>/stop/",
        prescribing.prescription_stop,
        name="prescription_stop",
    ),
    path(
        "patients/<int:patient_id>/medicines/<int:prescription_id>/give/",
        administration.administer,
        name="administer",
    ),
    path(
        "patients/<int:patient_id>/medicines/<int:prescription_id>/not-given/",
        administration.not_given,
        name="not_given",
    ),
    path(
        "patients/<int:patient_id>/medicines/<int:prescription_id>/review/",
        pharmacy.prescription_review_step,
        name="prescription_review",
    ),
    path(
        "patients/<int:patient_id>/medicines/<int:prescription_id>/antimicrobial-review/",
        prescribing.antimicrobial_review,
        name="antimicrobial_review",
    ),
    path("medicines/round/", administration.medication_round, name="medication_round"),
    path("medicines/round/<int:ward_id>/", administration.medication_round, name="medication_round_ward"),
    path("medicines/verification/", pharmacy.verification_queue, name="verification_queue"),
    path("medicines/queries/", pharmacy.my_queries, name="my_queries"),
    path("medicines/pack-labels/", catalogue.pack_labels, name="pack_labels"),
    path("medicines/stock/", stock.ward_stock, name="ward_stock"),
    path("medicines/stock/<int:stock_id>/", stock.stock_card, name="stock_card"),
    path("medicines/stock/<int:stock_id>/record/", stock.stock_move, name="stock_move"),
    path("medicines/stock-requests/", stock.stock_requests, name="stock_requests"),
    path(
        "medicines/stock-requests/<int:request_id>/supply/", stock.stock_request_supply, name="stock_supply"
    ),
]
