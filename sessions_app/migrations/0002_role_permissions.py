from django.db import migrations

from clinic.kernel.roles import DOCTORS, MANAGERS, RECEPTION, grant_operation

GRANTS = {
    # Reception sees a session's times and status, never its clinical content
    # (which lives in records and is granted there).
    RECEPTION: ["view_session"],
    DOCTORS: ["view_session", "add_session", "change_session", "view_performedservice"],
    MANAGERS: ["view_session", "view_performedservice"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("sessions_app", "0001_initial"),
    ]

    operations = [grant_operation("sessions_app", GRANTS)]
