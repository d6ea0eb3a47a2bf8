from django.db import migrations

from clinic.kernel.roles import DOCTORS, MANAGERS, grant_operation

CLINICAL_MODELS = ["medicalrecord", "clinicalnote", "prescription", "prescriptionitem", "addendum"]
CLINICAL = [f"{verb}_{model}" for model in CLINICAL_MODELS for verb in ("view", "add", "change")]

# Reception gets nothing in records: receptionists never see clinical content.
GRANTS = {
    DOCTORS: [*CLINICAL, "view_accesslog"],
    MANAGERS: [*CLINICAL, "view_accesslog"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("records", "0001_initial"),
    ]

    operations = [grant_operation("records", GRANTS)]
