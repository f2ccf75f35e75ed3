from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "epr.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from epr.accounts import middleware, services

        post_migrate.connect(services.roles_sync_after_migrate, dispatch_uid="accounts-roles-sync")
        user_logged_in.connect(middleware.record_login_time, dispatch_uid="accounts-login-time")
