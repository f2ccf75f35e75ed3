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

# NHS.UK-styled error pages (templates/400.html, 403.html, 404.html, 500.html); Django's defaults
# render 400, 403 and 500 from those templates, the 404 needs ours for FHIR clients.
handler404 = "epr.middleware.page_not_found"
