"""The app's pages, under the "prescribing" namespace."""

from django.urls import URLPattern

app_name = "prescribing"

urlpatterns: list[URLPattern] = []
