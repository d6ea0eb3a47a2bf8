from django.db import migrations

from clinic.kernel.roles import MANAGERS, RECEPTION, grant_operation

GRANTS = {
    # Reception watches the outbox and retries or cancels messages; doctors only
    # see their own in-app messages, which needs no permission.
    RECEPTION: ["view_notification", "manage_outbox"],
    MANAGERS: ["view_notification", "manage_outbox"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("notifications", "0001_initial"),
    ]

    operations = [grant_operation("notifications", GRANTS)]
