"""Create the clinic's roles; managers administer staff logins.

Each app grants its own models' permissions to these roles in its own migration.
"""

from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation

GRANTS = {
    MANAGERS: [
        "view_user",
        "add_user",
        "change_user",
        "view_group",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_operation("auth", GRANTS)]
