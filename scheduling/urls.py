"""The app's pages, under the "scheduling" namespace."""

from django.urls import URLPattern

app_name = "scheduling"

urlpatterns: list[URLPattern] = []
