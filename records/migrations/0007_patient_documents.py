"""Documents on the chart: the model (never edited; withdrawn with a reason), the
roles' rights to them, and on PostgreSQL a trigger that holds the rule whoever
writes (the app, a shell, raw SQL): a row is never deleted, and an UPDATE may only
withdraw a document not yet withdrawn, changing nothing else. As for the access log
(0005), TRUNCATE and SQLite are left alone."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from clinic.kernel.db import RunSQLOnPostgreSQL
from clinic.kernel.roles import DOCTORS, MANAGERS, grant_operation

# Doctors and managers add and open documents (on the charts they may read);
# managers withdraw them. Reception gets nothing here: a manager gives a
# receptionist `handle_nonclinical_documents` on their user page in admin.
GRANTS = {
    DOCTORS: ["add_patientdocument", "view_patientdocument"],
    MANAGERS: ["add_patientdocument", "view_patientdocument", "withdraw_patientdocument"],
}

CONTENT = (
    "patient_id, kind, title, stored_name, original_name, content_type, size, sha256, "
    "uploaded_at, uploaded_by_id"
)
NEW_CONTENT = ", ".join(f"NEW.{column.strip()}" for column in CONTENT.split(","))
OLD_CONTENT = ", ".join(f"OLD.{column.strip()}" for column in CONTENT.split(","))

CREATE_TRIGGER = f"""
CREATE FUNCTION records_patientdocument_never_edited() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.withdrawn_at IS NULL
        AND NEW.withdrawn_at IS NOT NULL
        AND ({NEW_CONTENT}) IS NOT DISTINCT FROM ({OLD_CONTENT})
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'records_patientdocument: % refused', TG_OP
        USING HINT = 'A document is never edited nor deleted; a manager withdraws it.';
END;
$$;

CREATE TRIGGER records_patientdocument_never_edited
    BEFORE UPDATE OR DELETE ON records_patientdocument
    FOR EACH ROW EXECUTE FUNCTION records_patientdocument_never_edited();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS records_patientdocument_never_edited ON records_patientdocument;
DROP FUNCTION IF EXISTS records_patientdocument_never_edited();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_search_indexes"),
        ("clinic", "0001_roles"),
        ("records", "0006_structured_allergies_and_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PatientDocument",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("lab_report", "Lab report"),
                            ("imaging", "Imaging"),
                            ("clinical_letter", "Clinical letter"),
                            ("other_clinical", "Other clinical document"),
                            ("referral_letter", "Referral letter"),
                            ("id_scan", "ID scan"),
                            ("insurance", "Insurance document"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("title", models.CharField(max_length=200, verbose_name="title")),
                ("stored_name", models.CharField(editable=False, max_length=200, unique=True)),
                ("original_name", models.CharField(blank=True, editable=False, max_length=255)),
                (
                    "content_type",
                    models.CharField(
                        choices=[
                            ("application/pdf", "PDF"),
                            ("image/png", "PNG"),
                            ("image/jpeg", "JPEG"),
                        ],
                        editable=False,
                        max_length=30,
                    ),
                ),
                ("size", models.PositiveBigIntegerField(editable=False, help_text="Bytes.")),
                ("sha256", models.CharField(editable=False, max_length=64, verbose_name="SHA-256")),
                (
                    "uploaded_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("withdrawn_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("withdrawal_reason", models.CharField(blank=True, editable=False, max_length=300)),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="patients.patient",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "withdrawn_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-uploaded_at", "-pk"],
                "permissions": [
                    ("withdraw_patientdocument", "Can withdraw a document with a reason"),
                    (
                        "handle_nonclinical_documents",
                        "Can add and open non-clinical documents (referral letters, ID scans, "
                        "insurance)",
                    ),
                ],
                "default_permissions": ("add", "view"),
                "indexes": [
                    models.Index(fields=["patient", "-uploaded_at"], name="document_patient_recent")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "kind__in",
                                [
                                    "lab_report",
                                    "imaging",
                                    "clinical_letter",
                                    "other_clinical",
                                    "referral_letter",
                                    "id_scan",
                                    "insurance",
                                ],
                            )
                        ),
                        name="document_kind_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("content_type__in", ["application/pdf", "image/png", "image/jpeg"])
                        ),
                        name="document_content_type_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("withdrawal_reason", ""),
                                ("withdrawn_at__isnull", True),
                                ("withdrawn_by__isnull", True),
                            ),
                            models.Q(
                                ("withdrawn_at__isnull", False),
                                models.Q(("withdrawal_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="document_withdrawal_complete",
                    ),
                ],
            },
        ),
        grant_operation("records", GRANTS),
        RunSQLOnPostgreSQL(CREATE_TRIGGER, reverse_sql=DROP_TRIGGER),
    ]
