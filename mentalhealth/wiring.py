"""Everything mentalhealth adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*(). Empty until the app's issue fills it; docs/adding-an-app.md shows how."""

from epr.routes import register_app_urls

register_app_urls("mentalhealth.urls")
