"""The dm+d catalogue (NHSBSA Dictionary of Medicines and Devices), as a trust loads it from the
release: VTM (the moiety: "Atenolol"), VMP (the generic product: "Atenolol 100mg tablets"), VMPP (its
pack), AMP (a supplier's product), AMPP (a supplier's pack, with its GTIN barcodes). Rows are keyed by
their dm+d (SNOMED CT) identifier, so loading a newer release updates them in place; a product dm+d
retires is marked invalid, never deleted, because prescriptions point at it."""

from __future__ import annotations

from django.db import models

__all__ = ["AMP", "AMPP", "VMP", "VMPP", "VTM", "DmdLookup", "Ingredient", "PackGTIN", "VMPIngredient"]

DMD_ID = 18  # SNOMED CT identifiers are at most 18 digits


class DmdLookup(models.Model):
    """dm+d's code lists (f_lookup): forms, routes, units of measure, controlled-drug categories,
    legal categories, suppliers..., by list name and code."""

    kind = models.CharField(max_length=40)  # the list: "FORM", "ROUTE", "UNIT_OF_MEASURE"
    code = models.CharField(max_length=DMD_ID)
    description = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="dmdlookup_kind_code")]

    def __str__(self) -> str:
        return self.description


class VTM(models.Model):
    dmd_id = models.CharField("VTMID", max_length=DMD_ID, unique=True)
    name = models.CharField(max_length=255)
    invalid = models.BooleanField(default=False)

    class Meta:
        verbose_name = "VTM"

    def __str__(self) -> str:
        return self.name


class Ingredient(models.Model):
    dmd_id = models.CharField("ISID", max_length=DMD_ID, unique=True)
    name = models.CharField(max_length=255)
    invalid = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class VMP(models.Model):
    dmd_id = models.CharField("VPID", max_length=DMD_ID, unique=True)
    previous_dmd_id = models.CharField("previous VPID", max_length=DMD_ID, blank=True)
    vtm = models.ForeignKey(VTM, on_delete=models.PROTECT, null=True, blank=True, related_name="vmps")
    name = models.CharField(max_length=255)
    form_code = models.CharField(max_length=DMD_ID, blank=True)  # FORM lookup
    route_codes = models.JSONField(default=list, blank=True)  # ROUTE lookup, as many as licensed
    controlled_drug_category = models.CharField(max_length=4, blank=True)  # CONTROL_DRUG_CATEGORY
    unit_dose_form_size = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    unit_dose_form_units = models.CharField(max_length=DMD_ID, blank=True)  # UNIT_OF_MEASURE
    unit_dose_units = models.CharField(max_length=DMD_ID, blank=True)  # UNIT_OF_MEASURE
    discrete = models.BooleanField(null=True)  # DF_IND 1 discrete (tablets), 2 continuous (a gel)
    prescribing_status = models.CharField(max_length=4, blank=True)  # VIRTUAL_PRODUCT_PRES_STATUS
    invalid = models.BooleanField(default=False)
    bnf_code = models.CharField(max_length=15, blank=True)
    # In words, as the chart shows them (from dm+d's FORM and ROUTE lists, or the curated data).
    form_name = models.CharField(max_length=100, blank=True)
    route_names = models.JSONField(default=list, blank=True)
    # "dmd" for rows from an NHSBSA release; "curated" for the shipped subset, whose identifiers are
    # local ("C" and a number) until a release with a product of the same name replaces them.
    source = models.CharField(max_length=10, default="dmd")

    class Meta:
        verbose_name = "VMP"

    def __str__(self) -> str:
        return self.name


class VMPIngredient(models.Model):
    """One active ingredient of a VMP and its strength: numerator over an optional denominator
    (500 mg; 6 mg / 2 ml)."""

    vmp = models.ForeignKey(VMP, on_delete=models.CASCADE, related_name="ingredients")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="+")
    strength_value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    strength_units = models.CharField(max_length=DMD_ID, blank=True)
    per_value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    per_units = models.CharField(max_length=DMD_ID, blank=True)
    basis = models.CharField(max_length=4, blank=True)  # BASIS_OF_STRNTH

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vmp", "ingredient"], name="vmpingredient_once")]

    def __str__(self) -> str:
        return f"{self.ingredient} {self.strength_value or ''}".strip()


class VMPP(models.Model):
    dmd_id = models.CharField("VPPID", max_length=DMD_ID, unique=True)
    vmp = models.ForeignKey(VMP, on_delete=models.PROTECT, related_name="packs")
    name = models.CharField(max_length=255)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    quantity_units = models.CharField(max_length=DMD_ID, blank=True)
    invalid = models.BooleanField(default=False)

    class Meta:
        verbose_name = "VMPP"

    def __str__(self) -> str:
        return self.name


class AMP(models.Model):
    dmd_id = models.CharField("APID", max_length=DMD_ID, unique=True)
    vmp = models.ForeignKey(VMP, on_delete=models.PROTECT, related_name="amps")
    name = models.CharField(max_length=255)
    description = models.CharField(max_length=700, blank=True)  # the name with the supplier
    supplier_code = models.CharField(max_length=DMD_ID, blank=True)  # SUPPLIER lookup
    invalid = models.BooleanField(default=False)

    class Meta:
        verbose_name = "AMP"

    def __str__(self) -> str:
        return self.description or self.name


class AMPP(models.Model):
    dmd_id = models.CharField("APPID", max_length=DMD_ID, unique=True)
    amp = models.ForeignKey(AMP, on_delete=models.PROTECT, related_name="packs")
    vmpp = models.ForeignKey(VMPP, on_delete=models.PROTECT, related_name="amps")
    name = models.CharField(max_length=774)
    legal_category = models.CharField(max_length=4, blank=True)  # LEGAL_CATEGORY: GSL, P, POM, CD
    subpack = models.CharField(max_length=60, blank=True)
    discontinued = models.BooleanField(default=False)
    invalid = models.BooleanField(default=False)

    class Meta:
        verbose_name = "AMPP"

    def __str__(self) -> str:
        return self.name


class PackGTIN(models.Model):
    """A barcode number of a pack (f_gtin), held as the 14 digits a GS1 scan gives; a pack may have
    had several, each for a period."""

    ampp = models.ForeignKey(AMPP, on_delete=models.CASCADE, related_name="gtins")
    gtin = models.CharField(max_length=14, db_index=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ampp", "gtin"], name="packgtin_once")]

    def __str__(self) -> str:
        return self.gtin
