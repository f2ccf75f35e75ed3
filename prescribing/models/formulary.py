"""The trust's local formulary: which products may be prescribed, with what restriction, the
maximum doses the checks compare against, and order sentences (ready-made dose, route and
frequency) a prescriber can start from. Shipped with the curated subset; pharmacy edits it in admin."""

from __future__ import annotations

from django.db import models

from prescribing.models.catalogue import VMP

__all__ = ["FormularyEntry", "FormularyStatus", "OrderSentence"]


class FormularyStatus(models.TextChoices):
    FORMULARY = "formulary", "On the formulary"
    RESTRICTED = "restricted", "Restricted"
    NON_FORMULARY = "non-formulary", "Not on the formulary"


class FormularyEntry(models.Model):
    vmp = models.OneToOneField(VMP, on_delete=models.CASCADE, related_name="formulary")
    status = models.CharField(
        max_length=15, choices=FormularyStatus.choices, default=FormularyStatus.FORMULARY
    )
    restriction = models.CharField(max_length=200, blank=True)  # "microbiology approval"
    group = models.CharField(max_length=20, blank=True)  # oral-solid, antimicrobial, insulin...
    max_single_dose = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_daily_dose = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_dose_unit = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name_plural = "formulary entries"

    def __str__(self) -> str:
        return f"{self.vmp}: {self.get_status_display()}"


class OrderSentence(models.Model):
    vmp = models.ForeignKey(VMP, on_delete=models.CASCADE, related_name="order_sentences")
    text = models.CharField(max_length=200)  # as shown: "1 gram Oral QDS"
    kind = models.CharField(max_length=12)
    dose_value = models.DecimalField(max_digits=12, decimal_places=4)
    dose_unit = models.CharField(max_length=30)
    route = models.CharField(max_length=60)
    times_of_day = models.JSONField(default=list, blank=True)
    min_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_doses_in_24_hours = models.PositiveSmallIntegerField(null=True, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["vmp", "order", "pk"]

    def __str__(self) -> str:
        return self.text
