"""The app's pages, under the "mentalhealth" namespace."""

from django.urls import URLPattern

app_name = "mentalhealth"

urlpatterns: list[URLPattern] = []
