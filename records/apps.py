from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Patient record"

    def ready(self) -> None:
        from records import wiring  # noqa: F401 (what records adds to the shared registries)
