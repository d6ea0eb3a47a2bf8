"""The access audit log: who read or wrote which clinical content, when and from
where. It only grows: rows refuse every change here, and a trigger refuses UPDATE
and DELETE in PostgreSQL."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient

from ..exceptions import AppendOnly


class AccessAction(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    SIGN = "sign", "Sign"
    ADDENDUM = "addendum", "Addendum"
    # A doctor opened the chart of a patient who is not theirs, giving `reason`.
    EMERGENCY = "emergency", _("Emergency access")


class AccessLogQuerySet(models.QuerySet["AccessLog"]):
    def update(self, **kwargs):
        raise AppendOnly("The access log is append-only; entries cannot be changed.")

    def delete(self):
        raise AppendOnly("The access log is append-only; entries cannot be deleted.")


class AccessLog(models.Model):
    """Who read or wrote which clinical content of which patient, when and from
    where. Append-only: rows are written by `records.audit.log_access` and refuse
    every change; the users and patients they name cannot be deleted (PROTECT)."""

    Action = AccessAction

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        help_text="Empty for the system acting on its own.",
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=100, help_text="e.g. records.clinicalnote")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)
    reason = models.CharField(
        _("reason"),
        max_length=300,
        blank=True,
        help_text=_("Why the chart was opened, for an emergency access."),
    )

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["patient", "-at"], name="accesslog_patient_recent"),
            models.Index(fields=["user", "-at"], name="accesslog_user_recent"),
            models.Index(fields=["-at"], name="accesslog_recent"),
            # The manager's report of emergency accesses, a sliver of a long log.
            models.Index(
                fields=["-at"],
                condition=Q(action=AccessAction.EMERGENCY),
                name="accesslog_emergency_recent",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AccessAction.values),
                name="accesslog_action_valid",
            ),
            models.CheckConstraint(
                condition=~Q(action=AccessAction.EMERGENCY) | ~Q(reason=""),
                name="accesslog_emergency_has_reason",
                violation_error_message=_("An emergency access needs its reason."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.object_type} #{self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnly("The access log is append-only; entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("The access log is append-only; entries cannot be deleted.")


class EmergencyAccessManager(models.Manager["EmergencyAccess"]):
    def get_queryset(self) -> models.QuerySet[EmergencyAccess]:
        # The access log's own queryset, so these rows refuse changes as every row does.
        rows = AccessLogQuerySet(self.model, using=self._db)
        return cast("models.QuerySet[EmergencyAccess]", rows.filter(action=AccessAction.EMERGENCY))


class EmergencyAccess(AccessLog):
    """The access log's emergency accesses ("break the glass"): who opened which
    patient's chart without being their doctor, when, from where and why. Its own
    model only for the manager's report and its permission (view only: the rows
    are the access log's, which nobody changes)."""

    objects = EmergencyAccessManager()  # type: ignore[assignment,misc]  # only the emergency rows

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("emergency access")
        verbose_name_plural = _("emergency accesses")
