"""The periodic reconciliation with Stripe, as a django-q2 schedule (looked up by
name, so migrating twice makes one). It settles or closes online payments whose
webhook never came."""

from django.db import migrations

SCHEDULE_NAME = "payments: reconcile pending online payments"


def create_schedule(apps, schema_editor) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "payments.tasks.reconcile_pending_payments",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 15,
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("payments", "0002_role_permissions"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
