from typing import Any

from oauth2_provider.scopes import SettingsScopes

from epr.fhir.registry import fhir_scopes


# django-oauth-toolkit ships no type information, so its base class is Any to mypy.
class ApiClientScopes(SettingsScopes):  # type: ignore[misc]
    """The scopes are those of the registered FHIR resource types (epr/fhir/registry.py), and a client
    may be granted only the ones recorded for it when it was created."""

    def get_all_scopes(self) -> dict[str, str]:
        return fhir_scopes()

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        scopes = list(fhir_scopes())
        api_client = getattr(application, "api_client", None) if application else None
        if api_client is None:
            return []
        return [s for s in scopes if s in api_client.scopes]

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)
