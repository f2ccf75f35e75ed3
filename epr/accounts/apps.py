from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "epr.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from epr.accounts import services

        post_migrate.connect(services.roles_sync_after_migrate, dispatch_uid="accounts-roles-sync")
