from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from oauth2_provider.models import Application

from epr.accounts.roles import CLINICAL_ROLES, Role, StaffGrade


class User(AbstractUser):
    """A member of staff. The role decides the landing page and the role group's permissions."""

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    professional_registration = models.CharField(
        max_length=30, blank=True, help_text="GMC, NMC, GPhC or HCPC number"
    )
    grade = models.CharField(
        max_length=12,
        choices=StaffGrade.choices,
        blank=True,
        help_text="Decides, for one, who may request imaging",
    )

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_clinical(self) -> bool:
        return self.role in CLINICAL_ROLES


class ApiClient(models.Model):
    """A system client (a lab or PAS feed) allowed the client-credentials grant with given scopes."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="api_client")
    allowed_scopes = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        name: str = self.application.name  # oauth2_provider is untyped
        return name

    @property
    def scopes(self) -> list[str]:
        return self.allowed_scopes.split()
