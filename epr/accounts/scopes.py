from oauth2_provider.scopes import SettingsScopes


class ApiClientScopes(SettingsScopes):
    """A client may be granted only the scopes recorded for it when it was created."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        scopes = super().get_available_scopes(application, request, *args, **kwargs)
        api_client = getattr(application, "api_client", None) if application else None
        if api_client is None:
            return []
        return [s for s in scopes if s in api_client.scopes]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)
