"""Everything prescribing adds to the shared registries (docs/architecture.md, "Plug-in points"); the only
place the app calls register_*()."""

from epr.accounts.roles import Role, register_role_permissions
from epr.routes import register_app_urls
from prescribing.models import Prescription
from prescribing.selectors.prescriptions import prescription_entries
from records.registries.subject_access import register_section

PRESCRIBE = ["prescribing.add_prescription", "prescribing.stop_prescription", "prescribing.view_prescription"]
READ = ["prescribing.view_prescription"]

register_app_urls("prescribing.urls")
register_role_permissions(
    {Role.DOCTOR: PRESCRIBE, Role.PHARMACIST: READ, Role.PHARMACY_TECHNICIAN: READ, Role.NURSE: READ}
)
register_section("medicines", "Medicines prescribed", prescription_entries, order=65, models=(Prescription,))
