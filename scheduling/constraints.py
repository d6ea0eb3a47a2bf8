"""A no-overlap rule declared once on the model and enforced on both databases.

On PostgreSQL it is an exclusion constraint over the half-open range
[starts_at, ends_at) for one doctor (or patient), limited to active appointments,
so no race can ever leave two overlapping rows. SQLite has no such constraint: there
the DDL is skipped and `validate()` (which model validation and the booking service
run inside SQLite's IMMEDIATE write transaction) keeps the same rule.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Func, Q

# Appointments that hold their time; cancelled and no-show ones free it, and so does
# a waitlist hold that lapsed ("released"). A live hold ("held") keeps the time.
INACTIVE_STATUSES = ("cancelled", "no_show", "released")
ACTIVE = ~Q(status__in=INACTIVE_STATUSES)

# The shortest and longest an appointment (and a service) may last; check constraints
# hold both, the booking services refuse anything else, and forms and the API take
# their limits from here. Knowing the longest, an overlap search can bound
# `starts_at` from below as well as above, so it reads an index range of a few hours
# instead of every appointment ever made.
MIN_APPOINTMENT_MINUTES = 5
MIN_APPOINTMENT_LENGTH = timedelta(minutes=MIN_APPOINTMENT_MINUTES)
MAX_APPOINTMENT_MINUTES = 8 * 60
MAX_APPOINTMENT_LENGTH = timedelta(minutes=MAX_APPOINTMENT_MINUTES)


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class NoOverlapConstraint(ExclusionConstraint):
    def __init__(self, *, scope: str, name: str, violation_error_message: str | None = None):
        self.scope = scope
        super().__init__(
            name=name,
            index_type="gist",
            expressions=[
                (scope, RangeOperators.EQUAL),
                (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
            ],
            condition=ACTIVE,
            violation_error_message=violation_error_message,
        )

    def deconstruct(self) -> tuple[str, tuple, dict[str, object]]:
        path = f"{self.__class__.__module__}.{self.__class__.__name__}"
        kwargs: dict[str, object] = {"scope": self.scope, "name": self.name}
        if self.violation_error_message != self.default_violation_error_message:
            kwargs["violation_error_message"] = self.violation_error_message
        return path, (), kwargs

    # Django's schema editor skips a constraint whose SQL is empty.
    def constraint_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().remove_sql(model, schema_editor)

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        """The same rule as the database's, as a portable query."""
        if exclude and {self.scope, "starts_at", "ends_at", "status"} & set(exclude):
            return
        if instance.starts_at is None or instance.ends_at is None:
            return
        if instance.status in INACTIVE_STATUSES:
            return
        # The model's own overlap query (AppointmentQuerySet.overlapping).
        clashes = (
            model._default_manager.using(using)
            .overlapping(instance.starts_at, instance.ends_at)
            .filter(**{f"{self.scope}_id": getattr(instance, f"{self.scope}_id")})
            .exclude(pk=instance.pk)
        )
        if clashes.exists():
            raise ValidationError(self.get_violation_error_message(), code="overlap")
