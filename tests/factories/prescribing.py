"""Factories for the prescribing app: catalogue products with their ingredients."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from prescribing.models import VMP, VTM, Ingredient, VMPIngredient


class VTMFactory(DjangoModelFactory[VTM]):
    class Meta:
        model = VTM
        django_get_or_create = ("dmd_id",)

    dmd_id = factory.Sequence(lambda n: f"9{n:08d}")
    name = factory.Sequence(lambda n: f"Moiety {n}")


class VMPFactory(DjangoModelFactory[VMP]):
    class Meta:
        model = VMP

    dmd_id = factory.Sequence(lambda n: f"8{n:08d}")
    vtm = factory.SubFactory(VTMFactory)
    name = factory.Sequence(lambda n: f"Product {n} 500mg tablets")
    discrete = True


def _ingredient(name: str) -> Ingredient:
    found = Ingredient.objects.filter(name=name).first()
    return found or Ingredient.objects.create(dmd_id=f"7{Ingredient.objects.count() + 1:08d}", name=name)


def product(name: str, *ingredients: str) -> VMP:
    """A VMP named `name` with these active ingredients (each an Ingredient row)."""
    vmp = VMPFactory(name=name, vtm=VTMFactory(name=" + ".join(ingredients)))
    for i, ingredient in enumerate(ingredients):
        VMPIngredient.objects.create(
            vmp=vmp, ingredient=_ingredient(ingredient), strength_value=500 + i, strength_units="mg"
        )
    return vmp
