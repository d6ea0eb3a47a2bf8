from django.db import migrations

from clinic.kernel.roles import MANAGERS, RECEPTION, grant_operation

GRANTS = {
    RECEPTION: ["view_inboundmessage"],
    MANAGERS: ["view_inboundmessage"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("notifications", "0004_inbound_message"),
    ]

    operations = [grant_operation("notifications", GRANTS)]
