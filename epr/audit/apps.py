from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "epr.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from epr.audit import checks  # noqa: F401 (registers the deployment check)
