from django.db import migrations

from clinic.kernel.roles import MANAGERS, grant_operation

GRANTS = {MANAGERS: ["view_apitoken", "add_apitoken", "change_apitoken"]}


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_api_tokens")]

    operations = [grant_operation("clinic", GRANTS)]
