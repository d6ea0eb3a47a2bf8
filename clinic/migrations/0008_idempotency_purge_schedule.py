"""The purge of expired Idempotency-Key answers (clinic.tasks.purge_idempotency_keys),
as a django-q2 schedule run every hour; created by a migration, like the heartbeat,
so every deploy that migrates has it exactly once (looked up by name)."""

from django.db import migrations

SCHEDULE_NAME = "clinic: purge expired idempotency keys"


def create_schedule(apps, schema_editor) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "clinic.tasks.purge_idempotency_keys",
            "schedule_type": "H",  # Schedule.HOURLY
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("clinic", "0007_idempotent_requests"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
