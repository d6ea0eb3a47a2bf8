"""Emergency access ("break the glass", DESIGN.md section 6): the access log's
new action with its reason (required for it, in the database too), a partial index
for the manager's report, the report's proxy model, and the Managers role's rights
to read any chart without a reason and to open the report."""

from django.conf import settings
from django.db import migrations, models

from clinic.kernel.roles import MANAGERS, grant_operation


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_search_indexes"),
        ("clinic", "0001_roles"),
        ("records", "0003_addendum_to_any_note"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EmergencyAccess",
            fields=[],
            options={
                "verbose_name": "emergency access",
                "verbose_name_plural": "emergency accesses",
                "proxy": True,
                "default_permissions": ("view",),
                "indexes": [],
                "constraints": [],
            },
            bases=("records.accesslog",),
        ),
        migrations.AlterModelOptions(
            name="medicalrecord",
            options={
                "permissions": [
                    ("read_any_chart", "Can read any patient's chart without stating a reason")
                ]
            },
        ),
        migrations.RemoveConstraint(
            model_name="accesslog",
            name="accesslog_action_valid",
        ),
        migrations.AddField(
            model_name="accesslog",
            name="reason",
            field=models.CharField(
                blank=True,
                help_text="Why the chart was opened, for an emergency access.",
                max_length=300,
                verbose_name="reason",
            ),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("read", "Read"),
                    ("write", "Write"),
                    ("sign", "Sign"),
                    ("addendum", "Addendum"),
                    ("emergency", "Emergency access"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="accesslog",
            index=models.Index(
                condition=models.Q(("action", "emergency")),
                fields=["-at"],
                name="accesslog_emergency_recent",
            ),
        ),
        migrations.AddConstraint(
            model_name="accesslog",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("action__in", ["read", "write", "sign", "addendum", "emergency"])
                ),
                name="accesslog_action_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="accesslog",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("action", "emergency"), _negated=True),
                    models.Q(("reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="accesslog_emergency_has_reason",
                violation_error_message="An emergency access needs its reason.",
            ),
        ),
        grant_operation("records", {MANAGERS: ["read_any_chart", "view_emergencyaccess"]}),
    ]
