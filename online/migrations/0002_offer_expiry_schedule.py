"""The worker passes lapsed waitlist offers on every minute (a django-q2 schedule,
looked up by name so that it is made once)."""

from django.db import migrations

SCHEDULE_NAME = "online: pass on lapsed waitlist offers"


def create_schedule(apps, schema_editor) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "online.tasks.pass_on_lapsed_offers",
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
        ("online", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
