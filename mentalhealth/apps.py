from django.apps import AppConfig


class MentalHealthConfig(AppConfig):
    name = "mentalhealth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mentalhealth import wiring  # noqa: F401 (what mentalhealth adds to the shared registries)
