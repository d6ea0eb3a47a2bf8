"""The manager sets the online booking rules (saved once, then edited) and reads the
waitlist and its offers in the admin."""

from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation

GRANTS = {
    MANAGERS: [
        "view_onlinerules",
        "add_onlinerules",
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
