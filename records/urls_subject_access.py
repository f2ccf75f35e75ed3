from django.urls import path

from records.views import subject_access as views

base = "patients/<int:patient_id>/subject-access/"

urlpatterns = [
    path("subject-access/", views.sar_deadlines, name="sar_deadlines"),
    path(base, views.sar_patient_list, name="sar_patient_list"),
    path(f"{base}new/", views.sar_create, name="sar_create"),
    path(f"{base}<int:request_id>/", views.sar_detail, name="sar_detail"),
    path(f"{base}<int:request_id>/redactions/", views.sar_redactions, name="sar_redactions"),
    path(f"{base}<int:request_id>/generate/", views.sar_generate, name="sar_generate"),
    path(f"{base}<int:request_id>/progress/", views.sar_progress, name="sar_progress"),
    path(f"{base}<int:request_id>/close/", views.sar_close, name="sar_close"),
    path(
        f"{base}<int:request_id>/download/<str:fmt>/",
        views.sar_download,
        name="sar_download",
    ),
]
