from django.db import migrations


def load(apps, schema_editor):
    from epr.terminology.services import load_shipped_subset

    load_shipped_subset(concept_model=apps.get_model("terminology", "Concept"),
                        map_model=apps.get_model("terminology", "ConceptMap"))


class Migration(migrations.Migration):
    dependencies = [("terminology", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
