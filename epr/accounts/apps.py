from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "epr.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from oauth2_provider.models import AccessToken

        from epr.accounts import middleware, services, tokens

        post_migrate.connect(services.roles_sync_after_migrate, dispatch_uid="accounts-roles-sync")
        user_logged_in.connect(middleware.record_login_time, dispatch_uid="accounts-login-time")
        post_save.connect(tokens.forget_token, sender=AccessToken, dispatch_uid="accounts-token-saved")
        post_delete.connect(tokens.forget_token, sender=AccessToken, dispatch_uid="accounts-token-deleted")
