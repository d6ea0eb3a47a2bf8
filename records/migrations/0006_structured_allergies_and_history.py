"""Allergies become rows (substance, severity, reaction, who recorded them), with
an explicit "no known allergies" on the record, so that "not recorded" and "none"
differ; every change to a record is kept in its history (RecordChange). Vitals
are stored to hundredths, so that °F and pounds read back as typed.

The free text of the allergies is split into one row per item (a comma, semicolon
or line between them; "Penicillin (rash)" gives the reaction "rash"), severity not
known, since nobody stated it; a text that only says there are none ("none",
"NKA", "no known allergies") sets "no known allergies" instead. The original text
is kept in the record's history, by nobody (this migration), so nothing is lost.
"""

import re
from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from clinic.kernel.roles import DOCTORS, MANAGERS, grant_operation

GRANTS = {
    DOCTORS: ["view_allergy", "view_recordchange"],
    MANAGERS: ["view_allergy", "view_recordchange"],
}
NONE_SAID = {"none", "nka", "nkda", "no known allergies", "no known drug allergies", "nil"}
ITEM_WITH_REACTION = re.compile(r"^(?P<substance>[^()]+?)\s*\((?P<reaction>[^()]*)\)$")


def split_allergies(text):
    """(substance, reaction) pairs of a free text, each substance once."""
    seen = set()
    for item in re.split(r"[,;\n]+", text):
        item = " ".join(item.split())
        if not item:
            continue
        match = ITEM_WITH_REACTION.match(item)
        substance, reaction = (
            (match["substance"].strip(), match["reaction"].strip()) if match else (item, "")
        )
        if substance.lower() in seen:
            continue
        seen.add(substance.lower())
        yield substance[:100], reaction[:200]


def allergies_from_text(apps, schema_editor):
    MedicalRecord = apps.get_model("records", "MedicalRecord")
    Allergy = apps.get_model("records", "Allergy")
    RecordChange = apps.get_model("records", "RecordChange")
    for record in MedicalRecord.objects.exclude(allergies_text="").iterator():
        text = record.allergies_text.strip()
        if not text:
            continue
        changes = [{"field": "allergies_text", "old": text, "new": ""}]
        if text.lower().rstrip(".") in NONE_SAID:
            record.no_known_allergies = True
            record.save(update_fields=["no_known_allergies"])
            changes.append({"field": "no_known_allergies", "old": "no", "new": "yes"})
        else:
            for substance, reaction in split_allergies(text):
                Allergy.objects.create(
                    record=record,
                    substance=substance,
                    reaction=reaction,
                    recorded_by_id=record.updated_by_id,
                    recorded_at=record.updated_at,
                )
                changes.append({"field": "allergy", "old": "", "new": substance})
        RecordChange.objects.create(record=record, changed_by=None, changes=changes)


def text_from_allergies(apps, schema_editor):
    MedicalRecord = apps.get_model("records", "MedicalRecord")
    for record in MedicalRecord.objects.prefetch_related("allergies"):
        items = [
            f"{allergy.substance} ({allergy.reaction})" if allergy.reaction else allergy.substance
            for allergy in record.allergies.all()
        ]
        if record.no_known_allergies and not items:
            items = ["No known allergies"]
        record.allergies_text = ", ".join(items)
        record.save(update_fields=["allergies_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0001_roles"),
        ("records", "0005_accesslog_append_only_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The free text waits under another name until its items are rows.
        migrations.RenameField(
            model_name="medicalrecord",
            old_name="allergies",
            new_name="allergies_text",
        ),
        migrations.AddField(
            model_name="medicalrecord",
            name="no_known_allergies",
            field=models.BooleanField(
                default=False,
                help_text="Tick only when you asked and the patient has no known allergies.",
                verbose_name="no known allergies",
            ),
        ),
        migrations.AlterField(
            model_name="clinicalnote",
            name="temperature_c",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=4,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("30.0")),
                    django.core.validators.MaxValueValidator(Decimal("45.0")),
                ],
                verbose_name="temperature (°C)",
            ),
        ),
        migrations.AlterField(
            model_name="clinicalnote",
            name="weight_kg",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=5,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0.3")),
                    django.core.validators.MaxValueValidator(Decimal("500.0")),
                ],
                verbose_name="weight (kg)",
            ),
        ),
        migrations.AlterField(
            model_name="medicalrecord",
            name="blood_type",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Unknown"),
                    ("A+", "A+"),
                    ("A-", "A−"),
                    ("B+", "B+"),
                    ("B-", "B−"),
                    ("AB+", "AB+"),
                    ("AB-", "AB−"),
                    ("O+", "O+"),
                    ("O-", "O−"),
                ],
                default="",
                max_length=3,
                verbose_name="blood type",
            ),
        ),
        migrations.AlterField(
            model_name="medicalrecord",
            name="chronic_conditions",
            field=models.TextField(blank=True, verbose_name="chronic conditions"),
        ),
        migrations.AlterField(
            model_name="medicalrecord",
            name="current_medications",
            field=models.TextField(blank=True, verbose_name="current medications"),
        ),
        migrations.AlterField(
            model_name="medicalrecord",
            name="notes",
            field=models.TextField(blank=True, verbose_name="notes"),
        ),
        migrations.CreateModel(
            name="Allergy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("substance", models.CharField(max_length=100, verbose_name="substance")),
                (
                    "severity",
                    models.CharField(
                        choices=[
                            ("unknown", "Severity not known"),
                            ("mild", "Mild"),
                            ("moderate", "Moderate"),
                            ("severe", "Severe"),
                            ("life_threatening", "Life-threatening"),
                        ],
                        default="unknown",
                        max_length=20,
                        verbose_name="severity",
                    ),
                ),
                (
                    "reaction",
                    models.CharField(
                        blank=True,
                        help_text="e.g. rash, anaphylaxis",
                        max_length=200,
                        verbose_name="reaction",
                    ),
                ),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "record",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="allergies",
                        to="records.medicalrecord",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "allergies",
                "ordering": [django.db.models.functions.text.Lower("substance"), "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("substance"),
                        models.F("record"),
                        name="allergy_substance_once_per_record",
                        violation_error_message="This allergy is recorded already.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("substance", ""), _negated=True),
                        name="allergy_substance_required",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "severity__in",
                                ["unknown", "mild", "moderate", "severe", "life_threatening"],
                            )
                        ),
                        name="allergy_severity_valid",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="RecordChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("changes", models.JSONField(default=list)),
                (
                    "changed_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "record",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="changes",
                        to="records.medicalrecord",
                    ),
                ),
            ],
            options={
                "ordering": ["-changed_at", "-pk"],
                "indexes": [
                    models.Index(fields=["record", "-changed_at"], name="recordchange_recent")
                ],
            },
        ),
        migrations.RunPython(allergies_from_text, text_from_allergies),
        migrations.RemoveField(model_name="medicalrecord", name="allergies_text"),
        grant_operation("records", GRANTS),
    ]
