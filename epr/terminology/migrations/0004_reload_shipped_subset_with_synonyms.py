from django.db import migrations


def load(apps, schema_editor):
    # Upserts: existing rows gain their synonyms and the all-terms search key; the new concepts arrive.
    from epr.terminology.services import load_shipped_subset

    load_shipped_subset(
        concept_model=apps.get_model("terminology", "Concept"),
        map_model=apps.get_model("terminology", "ConceptMap"),
    )


class Migration(migrations.Migration):
    dependencies = [("terminology", "0003_concept_synonyms_and_all_terms_key")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
