from django.db import migrations

from clinic.kernel.roles import MANAGERS, RECEPTION, grant_operation

GRANTS = {
    # Reception discounts and writes off at the desk within the manager's limits;
    # managers beyond them, and set the limits in admin.
    RECEPTION: ["view_invoiceadjustment", "add_invoiceadjustment"],
    MANAGERS: [
        "view_invoiceadjustment",
        "add_invoiceadjustment",
        "adjust_beyond_limits",
        "view_billinglimits",
        "change_billinglimits",
    ],
}


def create_limits(apps, schema_editor):
    """The one row of limits, at their defaults, for the manager to edit."""
    apps.get_model("payments", "BillingLimits").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("payments", "0006_adjustments"),
    ]

    operations = [
        grant_operation("payments", GRANTS),
        migrations.RunPython(create_limits, migrations.RunPython.noop),
    ]
