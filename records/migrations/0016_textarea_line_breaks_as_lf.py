"""Store textarea line breaks as LF, as the forms now post them.

Browsers post a textarea's line breaks as CRLF and the forms used to store them so; the services, FHIR
and the demo data write LF. The forms now turn CRLF into LF (epr.forms.NHSFormMixin), so without this an
untouched text written through the old forms would count as changed at its next edit. Only the line
break characters change; no wording does.
"""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Replace

TEXTS = {
    "AllergyIntolerance": ["note"],
    "Problem": ["note"],
    "CarePlan": ["goals", "interventions"],
    "ClinicalNote": ["free_text"],
}


def _lf(apps, schema_editor) -> None:
    for model_name, fields in TEXTS.items():
        model = apps.get_model("records", model_name)
        for field in fields:
            model.objects.filter(**{f"{field}__contains": "\r\n"}).update(
                **{field: Replace(F(field), Value("\r\n"), Value("\n"))}
            )
    # A note's structured textarea values live in its JSON.
    note_model = apps.get_model("records", "ClinicalNote")
    for note in note_model.objects.filter(values__isnull=False).only("pk", "values").iterator():
        if not isinstance(note.values, dict):
            continue
        fixed = {k: v.replace("\r\n", "\n") if isinstance(v, str) else v for k, v in note.values.items()}
        if fixed != note.values:
            note_model.objects.filter(pk=note.pk).update(values=fixed)


class Migration(migrations.Migration):
    dependencies = [("records", "0015_expected_discharge_date")]

    operations = [migrations.RunPython(_lf, migrations.RunPython.noop)]
