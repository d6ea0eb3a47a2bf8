"""The periodic dispatch of the outbox, as a django-q2 schedule.

A migration creates it, so every deploy that migrates has it, and only once: the
schedule is looked up by name. Messages due now are also dispatched at once (the
rules wake the worker on commit); this round catches reminders that come due, retries
and rows a dead worker left behind.
"""

from django.db import migrations

SCHEDULE_NAME = "notifications: dispatch due messages"


def create_schedule(apps, schema_editor) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "notifications.tasks.dispatch_due",
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
        ("notifications", "0002_role_permissions"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
