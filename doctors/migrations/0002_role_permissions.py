from django.db import migrations

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION, grant_operation

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


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("doctors", "0001_initial"),
    ]

    operations = [grant_operation("doctors", GRANTS)]
