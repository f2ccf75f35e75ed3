from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("records.urls")),
    path("accounts/", include("epr.accounts.urls")),
    path("fhir", include("records.fhir_base_urls")),
    path("fhir/", include("records.fhir_urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("django-admin/", admin.site.urls),
]
