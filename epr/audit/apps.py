from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "epr.audit"
    label = "audit"
    verbose_name = "Audit"
