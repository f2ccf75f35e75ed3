"""The app's pages, under the "orders" namespace."""

from django.urls import URLPattern

app_name = "orders"

urlpatterns: list[URLPattern] = []
