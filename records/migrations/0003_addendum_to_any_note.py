"""Addenda are written by the note's author or a manager (DESIGN.md section 6): the
manager's right to add one to any note, held by the Managers role alone."""

from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("records", "0002_role_permissions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="addendum",
            options={
                "ordering": ["created_at", "pk"],
                "permissions": [
                    ("add_addendum_to_any_note", "Can add an addendum to any doctor's note")
                ],
                "verbose_name_plural": "addenda",
            },
        ),
        grant_operation("records", {MANAGERS: ["add_addendum_to_any_note"]}),
    ]
