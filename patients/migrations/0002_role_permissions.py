from django.db import migrations

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION, grant_operation

GRANTS = {
    RECEPTION: ["view_patient", "add_patient", "change_patient"],
    DOCTORS: ["view_patient"],
    MANAGERS: ["view_patient", "add_patient", "change_patient", "delete_patient"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("patients", "0001_initial"),
    ]

    operations = [grant_operation("patients", GRANTS)]
