"""Patients found however they are typed, merged when registered twice, and an
optional phone: the stored normalised name (filled here for the patients already
registered), the merge's pointer and audit, a phone that may be left blank."""

import django.db.models.deletion
import django.utils.timezone
import phonenumber_field.modelfields
from django.conf import settings
from django.db import migrations, models

from patients.normalise import name_key


def fill_search_text(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    batch = []
    for patient in Patient.objects.only("given_name", "family_name").iterator(chunk_size=2000):
        patient.search_text = name_key(
            given_name=patient.given_name, family_name=patient.family_name
        )
        batch.append(patient)
        if len(batch) == 2000:
            Patient.objects.bulk_update(batch, ["search_text"])
            batch = []
    Patient.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_search_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PatientMerge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("merged_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "moved",
                    models.JSONField(
                        default=dict, help_text="Rows moved to the kept patient, by kind."
                    ),
                ),
            ],
            options={
                "ordering": ["-merged_at", "-pk"],
            },
        ),
        migrations.AddField(
            model_name="patient",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged_patients",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="search_text",
            field=models.CharField(default="", editable=False, max_length=201),
        ),
        migrations.AlterField(
            model_name="patient",
            name="phone",
            field=phonenumber_field.modelfields.PhoneNumberField(
                blank=True,
                help_text="Mobile number for reminders; a local number or +country code. Optional: without one the patient gets no text messages.",
                max_length=128,
                region=None,
            ),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["search_text", "date_of_birth"], name="patient_name_born"),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["date_of_birth"], name="patient_born"),
        ),
        migrations.AddField(
            model_name="patientmerge",
            name="kept",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merges_kept",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="patientmerge",
            name="merged",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merge_record",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="patientmerge",
            name="merged_by",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="patientmerge",
            constraint=models.CheckConstraint(
                condition=models.Q(("kept", models.F("merged")), _negated=True),
                name="patient_merge_two_patients",
            ),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop, elidable=True),
    ]
