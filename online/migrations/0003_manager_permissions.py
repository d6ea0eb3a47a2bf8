"""The manager edits the online booking rules and reads the waitlist in the admin."""

from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation

GRANTS = {
    MANAGERS: [
        "view_onlinerules",
        "change_onlinerules",
        "view_waitlistentry",
        "view_waitlistoffer",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("online", "0002_offer_expiry_schedule"),
    ]

    operations = [grant_operation("online", GRANTS)]
