from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth2_views

from epr import views
from epr.routes import app_routes

# Only the endpoints system clients need. Clients are created by `manage.py create_api_client` (or by a
# system administrator in Django admin), never through oauth2_provider's application pages.
oauth2_urlpatterns = (
    [
        path("token/", oauth2_views.TokenView.as_view(), name="token"),
        path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("introspect/", oauth2_views.IntrospectTokenView.as_view(), name="introspect"),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("", views.home, name="home"),
    *[path(routes.prefix, include(routes.module)) for routes in app_routes()],
    path("accounts/", include("epr.accounts.urls")),
    path("fhir", include("epr.fhir.base_urls")),
    path("fhir/", include("epr.fhir.urls")),
    path("o/", include(oauth2_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]

# NHS.UK-styled error pages (templates/400.html, 403.html, 404.html, 500.html); Django's defaults
# render 400, 403 and 500 from those templates, the 404 needs ours for FHIR clients.
handler404 = "epr.middleware.page_not_found"
