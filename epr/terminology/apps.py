from django.apps import AppConfig


class TerminologyConfig(AppConfig):
    name = "epr.terminology"
    label = "terminology"
    verbose_name = "Terminology"
