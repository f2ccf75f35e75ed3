"""Everything scheduling adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*(). The app's own issue fills the rest; docs/adding-an-app.md shows how."""

from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.routes import register_app_urls
from records.registries.patient_page import BannerItem, register_banner_item

register_app_urls("scheduling.urls")
register_banner_item(BannerItem("wristband", "scheduling/banner_wristband.html", order=90))
register_access_log_names(AccessLogNames(pages={"scheduling:wristband": "Wristband printed"}))
