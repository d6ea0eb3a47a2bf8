from django.db import migrations

from clinic.kernel.roles import DOCTORS, MANAGERS, grant_operation

# Managers keep the templates in admin; doctors pick them on the session page.
GRANTS = {
    DOCTORS: ["view_notetemplate"],
    MANAGERS: [f"{verb}_notetemplate" for verb in ("view", "add", "change", "delete")],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("records", "0008_prescription_number_and_note_templates"),
    ]

    operations = [grant_operation("records", GRANTS)]
