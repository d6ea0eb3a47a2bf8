"""Create the clinic's roles; managers administer staff logins.

Each app grants its own models' permissions to these roles in its own migration.
"""

from django.db import migrations

from clinic.roles import MANAGERS, grant_permissions, revoke_permissions

GRANTS = {
    MANAGERS: [
        "view_user",
        "add_user",
        "change_user",
        "view_group",
    ],
}


def grant(apps, schema_editor):
    grant_permissions(apps, "auth", GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, "auth", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
