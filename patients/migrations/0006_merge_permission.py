"""Managers merge patients registered twice (patients.services.merge_patients)."""

from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_search_trigram_index"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="patient",
            options={
                "ordering": ["family_name", "given_name", "pk"],
                "permissions": [
                    ("merge_patients", "Can merge a patient registered twice into the other")
                ],
            },
        ),
        grant_operation("patients", {MANAGERS: ["merge_patients"]}),
    ]
