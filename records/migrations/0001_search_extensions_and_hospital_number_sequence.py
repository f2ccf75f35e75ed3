from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        BtreeGistExtension(),
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS records_hospital_number_seq START 1000001;",
            reverse_sql="DROP SEQUENCE IF EXISTS records_hospital_number_seq;",
        ),
    ]
