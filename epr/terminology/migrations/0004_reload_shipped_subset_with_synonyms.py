from django.db import migrations


def load(apps, schema_editor):
    # A trust's imported release keeps its terms; the shipped synonyms and new concepts are added.
    from epr.terminology.services import merge_shipped_subset

    merge_shipped_subset(
        concept_model=apps.get_model("terminology", "Concept"),
        map_model=apps.get_model("terminology", "ConceptMap"),
    )


class Migration(migrations.Migration):
    dependencies = [("terminology", "0003_concept_synonyms_and_all_terms_key")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
