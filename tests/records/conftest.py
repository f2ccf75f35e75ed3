"""Fixtures the records tests share: a note template and a care plan for the admitted patient."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from records import services
from records.models import NoteTemplate, NoteType


@pytest.fixture
def template(db):
    return NoteTemplate.objects.create(
        name="Robustness", note_type=NoteType.WARD_ROUND, fields=[{"key": "x", "label": "X", "kind": "text"}]
    )


@pytest.fixture
def plan(admitted, nurse, team):
    return services.careplan_create(
        created_by=nurse,
        patient=admitted.patient,
        need="Pressure area care",
        goals="Skin intact",
        interventions="Two-hourly turns",
        responsible=nurse,
        team=team,
        review_date=timezone.localdate() + timedelta(days=3),
    )
