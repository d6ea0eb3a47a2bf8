"""The worker's heartbeat (clinic.tasks.heartbeat), as a django-q2 schedule run
every minute; /healthz fails when the heartbeat is old.

Created by a migration, like the outbox's dispatch, so every deploy that migrates
has it exactly once: the schedule is looked up by name.
"""

from django.db import migrations

SCHEDULE_NAME = "clinic: worker heartbeat"


def create_schedule(apps, schema_editor) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "clinic.tasks.heartbeat",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 1,
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("clinic", "0005_worker_heartbeat"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
