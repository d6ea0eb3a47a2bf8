from django.db import migrations

from clinic.kernel.roles import MANAGERS, RECEPTION, grant_operation

GRANTS = {
    # Reception takes payments at the desk, sends payment links, refunds and voids;
    # managers read everything, Stripe's events included, in admin.
    RECEPTION: [
        "view_invoice",
        "change_invoice",
        "view_payment",
        "add_payment",
        "view_refund",
        "add_refund",
    ],
    MANAGERS: [
        "view_invoice",
        "view_invoiceline",
        "view_payment",
        "view_refund",
        "view_stripeevent",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("payments", "0001_initial"),
    ]

    operations = [grant_operation("payments", GRANTS)]
