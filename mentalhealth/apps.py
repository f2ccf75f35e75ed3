from django.apps import AppConfig


class MentalHealthConfig(AppConfig):
    name = "mentalhealth"
    default_auto_field = "django.db.models.BigAutoField"
