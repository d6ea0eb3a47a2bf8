from django.db import migrations

from clinic.kernel.roles import MANAGERS, RECEPTION, grant_operation

GRANTS = {
    # Reception sees and closes its own cash-up; managers everyone's, in the
    # reports too.
    RECEPTION: ["view_cashup"],
    MANAGERS: ["view_cashup", "close_any_cash_up"],
}


class Migration(migrations.Migration):
    dependencies = [("payments", "0010_cash_up")]

    operations = [grant_operation("payments", GRANTS)]
