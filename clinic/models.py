from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A key to the JSON API for one user, with that user's permissions.

    Only a hash of the token is kept: the token itself is shown once, when it is
    made (clinic/tokens.py). `prefix` is its public start, to find the row and to
    tell tokens apart in lists."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(condition=~Q(key_hash=""), name="api_token_has_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.user}"


class WorkerHeartbeat(models.Model):
    """When the django-q2 worker last ran a task: clinic.tasks.heartbeat, scheduled
    every minute, writes it; /healthz reads it. One row, whichever worker beat last."""

    SINGLE_ROW_ID = 1

    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, help_text="The host of the worker that beat.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="worker_heartbeat_single_row"),
        ]

    def __str__(self) -> str:
        return f"Worker on {self.hostname} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
