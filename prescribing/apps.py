from django.apps import AppConfig


class PrescribingConfig(AppConfig):
    name = "prescribing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prescribing import wiring  # noqa: F401 (what prescribing adds to the shared registries)
