"""Clinical note pages, included under patients/<patient_id>/notes/."""

from django.urls import path

from records.views import notes as views_notes

urlpatterns = [
    path("", views_notes.note_list, name="note_list"),
    path("new/", views_notes.note_new, name="note_new"),
    path("<int:note_id>/edit/", views_notes.note_edit, name="note_edit"),
    path("<int:note_id>/countersign/", views_notes.note_countersign, name="note_countersign"),
    path("<int:note_id>/amend/", views_notes.note_amend, name="note_amend"),
    path("<int:note_id>/error/", views_notes.note_mark_error, name="note_mark_error"),
    path("<int:note_id>/history/", views_notes.note_history, name="note_history"),
]
