from django.db import migrations

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION, grant_operation

GRANTS = {
    RECEPTION: ["view_service", "view_appointment", "add_appointment", "change_appointment"],
    DOCTORS: ["view_service", "view_appointment", "view_own_day"],
    MANAGERS: [
        "view_service",
        "add_service",
        "change_service",
        "delete_service",
        "view_appointment",
        "add_appointment",
        "change_appointment",
        "view_appointmentchange",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("scheduling", "0001_initial"),
    ]

    operations = [grant_operation("scheduling", GRANTS)]
