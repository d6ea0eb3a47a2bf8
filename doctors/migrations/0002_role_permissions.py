from django.db import migrations

from clinic.roles import DOCTORS, MANAGERS, RECEPTION, grant_permissions, revoke_permissions

VIEW = ["view_doctor", "view_specialty", "view_workinghours", "view_timeoff"]
GRANTS = {
    RECEPTION: VIEW,
    DOCTORS: VIEW,
    MANAGERS: [
        f"{action}_{model}"
        for model in ("doctor", "specialty", "workinghours", "timeoff")
        for action in ("view", "add", "change", "delete")
    ],
}


def grant(apps, schema_editor):
    grant_permissions(apps, "doctors", GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, "doctors", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("doctors", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
