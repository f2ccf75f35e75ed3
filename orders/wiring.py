"""Everything orders adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*()."""

from epr.audit.selectors import AccessLogNames, register_access_log_names
from epr.routes import register_app_urls
from orders.models import ResultObservation, ResultReport
from orders.selectors import latest_creatinine_clearance, latest_egfr, result_entries
from records.registries.results import CREATININE_CLEARANCE, EGFR, register_result_provider
from records.registries.subject_access import register_section

register_app_urls("orders.urls")
register_result_provider(EGFR, latest_egfr)
register_result_provider(CREATININE_CLEARANCE, latest_creatinine_clearance)
register_section("results", "Results", result_entries, order=70, models=(ResultReport, ResultObservation))
register_access_log_names(AccessLogNames(objects={"orders.ResultReport": "Result report"}))
