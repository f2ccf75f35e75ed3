"""Code systems the record uses: SNOMED CT and ICD-10 concepts, and the SNOMED CT to ICD-10 map.

The project ships a small subset (data/*.tsv, loaded by a migration); `import_snomed`,
`import_icd10` and `import_snomed_icd10_map` load a trust's full releases.
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class CodeSystem(models.TextChoices):
    SNOMED = "http://snomed.info/sct", "SNOMED CT"
    ICD10 = "http://hl7.org/fhir/sid/icd-10", "ICD-10"
    LOINC = "http://loinc.org", "LOINC"


class Concept(models.Model):
    system = models.CharField(max_length=60, choices=CodeSystem.choices)
    code = models.CharField(max_length=20)
    display = models.CharField(max_length=255)
    # Other descriptions clinicians type: acceptable synonyms and abbreviations ("COPD - Chronic
    # obstructive pulmonary disease", "Heart attack"), as written.
    synonyms = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    # Every term's search key (display first, then synonyms and the abbreviations split out of them)
    # between "|" marks, so one trigram index serves exact ("|copd|"), prefix ("|copd") and contains
    # matches on any term. Built by rules.terms_search_key.
    search_key = models.TextField(default="")
    active = models.BooleanField(default=True)
    # Curated picker subsets, e.g. "allergen", "problem".
    subsets = ArrayField(models.CharField(max_length=30), default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "code"], name="concept_unique_code")]
        indexes = [
            GinIndex(fields=["search_key"], name="concept_key_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["subsets"], name="concept_subsets"),
        ]

    def __str__(self) -> str:
        return f"{self.display} ({self.code})"


class ConceptMap(models.Model):
    """SNOMED CT to ICD-10 (NHS England complex map, simplified to the first target of group 1)."""

    snomed_code = models.CharField(max_length=20, db_index=True)
    icd10_code = models.CharField(max_length=10)
    priority = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snomed_code", "icd10_code"], name="conceptmap_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.snomed_code} -> {self.icd10_code}"
