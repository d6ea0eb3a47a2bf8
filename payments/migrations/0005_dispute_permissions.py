from django.db import migrations

from clinic.kernel.roles import MANAGERS, RECEPTION, grant_operation

GRANTS = {
    # Disputes show on the invoice page; managers read them in admin too.
    RECEPTION: ["view_dispute"],
    MANAGERS: ["view_dispute"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("payments", "0004_disputes_and_waiting_events"),
    ]

    operations = [grant_operation("payments", GRANTS)]
