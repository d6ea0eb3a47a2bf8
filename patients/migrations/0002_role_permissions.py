from django.db import migrations

from clinic.roles import DOCTORS, MANAGERS, RECEPTION, grant_permissions, revoke_permissions

GRANTS = {
    RECEPTION: ["view_patient", "add_patient", "change_patient"],
    DOCTORS: ["view_patient"],
    MANAGERS: ["view_patient", "add_patient", "change_patient", "delete_patient"],
}


def grant(apps, schema_editor):
    grant_permissions(apps, "patients", GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, "patients", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("patients", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
