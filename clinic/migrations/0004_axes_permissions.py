"""Managers see sign-in attempts and unlock a locked-out login.

Deleting a locked AccessAttempt in the admin is the unlock; the access logs are
read-only history.
"""

from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation

GRANTS = {
    MANAGERS: [
        "view_accessattempt",
        "delete_accessattempt",
        "view_accesslog",
        "view_accessfailurelog",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_api_token_permissions"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [grant_operation("axes", GRANTS)]
