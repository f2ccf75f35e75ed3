"""What can be ordered: laboratory tests and panels, imaging examinations and cardiology tests, each
coded, with the questions the department needs answered, a minimum re-test interval where repeating
early is waste, and who may order it; and order sets (an "admission bloods" set) that order several
at once. Shipped as data (orders/data/*.tsv, `manage.py load_order_catalogue`), extended in admin."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from simple_history.models import HistoricalRecords

__all__ = [
    "AnswerType",
    "Contrast",
    "Department",
    "OrderSet",
    "OrderSetItem",
    "OrderableTest",
    "QuestionApplies",
    "TestQuestion",
]


class Department(models.TextChoices):
    CHEMISTRY = "chemistry", "Clinical chemistry"
    HAEMATOLOGY = "haematology", "Haematology"
    MICROBIOLOGY = "microbiology", "Microbiology"
    TRANSFUSION = "transfusion", "Blood transfusion"
    IMMUNOLOGY = "immunology", "Immunology"
    RADIOLOGY = "radiology", "Radiology"
    CARDIOLOGY = "cardiology", "Cardiology"

    @classmethod
    def laboratory(cls) -> frozenset[str]:
        return frozenset({cls.CHEMISTRY, cls.HAEMATOLOGY, cls.MICROBIOLOGY, cls.TRANSFUSION, cls.IMMUNOLOGY})


class Contrast(models.TextChoices):
    NONE = "", "None"
    IODINATED = "iodinated", "Iodinated contrast"
    GADOLINIUM = "gadolinium", "Gadolinium contrast"


class OrderableTest(models.Model):
    code = models.CharField(max_length=20, unique=True, help_text="The trust's order code, sent in OBR-4")
    name = models.CharField(max_length=200)
    department = models.CharField(max_length=15, choices=Department.choices)
    snomed_code = models.CharField(max_length=20, help_text="SNOMED CT procedure")
    loinc_code = models.CharField(
        max_length=20, blank=True, help_text="LOINC panel or test, where there is one"
    )
    synonyms = models.CharField(max_length=300, blank=True, help_text="Other names to search by: FBC, U&E...")
    # Laboratory
    specimen_type = models.CharField(max_length=100, blank=True)
    specimen_snomed = models.CharField(max_length=20, blank=True)
    container = models.CharField(max_length=100, blank=True)
    # Imaging and cardiology
    modality = models.CharField(
        max_length=10, blank=True, help_text="DICOM modality: CR, CT, MR, US, NM, RF, ECG"
    )
    body_site = models.CharField(max_length=100, blank=True)
    contrast = models.CharField(max_length=12, choices=Contrast.choices, blank=True)
    ionising = models.BooleanField(default=False, help_text="Uses ionising radiation: IR(ME)R applies")
    retest_interval_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Repeating sooner than this is warned as a duplicate"
    )
    ordering_roles = ArrayField(
        models.CharField(max_length=20), default=list, help_text="Roles that may order it (doctor, nurse...)"
    )
    min_referrer_grade = models.CharField(
        max_length=12, blank=True, help_text="Lowest grade entitled to refer (IR(ME)R); blank for any"
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["department", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_laboratory(self) -> bool:
        return self.department in Department.laboratory()


class AnswerType(models.TextChoices):
    YES_NO = "yes-no", "Yes or no"
    CHOICE = "choice", "Choice"
    TEXT = "text", "Text"
    NUMBER = "number", "Number"


class QuestionApplies(models.TextChoices):
    ALWAYS = "always", "Always"
    CHILDBEARING = "childbearing", "Patients who could be pregnant (female or unknown sex, 12 to 55)"


class TestQuestion(models.Model):
    test = models.ForeignKey(OrderableTest, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=40)
    text = models.CharField(max_length=300)
    answer_type = models.CharField(max_length=10, choices=AnswerType.choices)
    choices = models.TextField(blank=True, help_text="One choice per line (choice questions)")
    required = models.BooleanField(default=True)
    applies = models.CharField(max_length=15, choices=QuestionApplies.choices, default=QuestionApplies.ALWAYS)
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["test", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["test", "key"], name="question_key_per_test")]

    def __str__(self) -> str:
        return self.text

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class OrderSet(models.Model):
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    specialty = models.CharField(max_length=100, blank=True)
    tests: models.ManyToManyField[OrderableTest, OrderSetItem] = models.ManyToManyField(
        OrderableTest, through="OrderSetItem", related_name="order_sets"
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrderSetItem(models.Model):
    order_set = models.ForeignKey(OrderSet, on_delete=models.CASCADE, related_name="items")
    test = models.ForeignKey(OrderableTest, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order_set", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["order_set", "test"], name="order_set_test_once")]

    def __str__(self) -> str:
        return f"{self.order_set}: {self.test}"
