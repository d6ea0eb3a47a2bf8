from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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


class IdempotentRequest(models.Model):
    """The first answer to an API write sent with an `Idempotency-Key` header, kept so
    that a retry with the same key (a client whose connection dropped after the
    server committed) gets that answer instead of doing the work again.

    A key belongs to who sent it (`scope`: one API token, or one staff user's browser
    session): nobody else's retry can read the answer. `fingerprint` is a hash of the
    method, path and body, so the same key with another request is refused. Kept for
    IDEMPOTENCY_KEY_HOURS (24), then deleted by clinic.tasks.purge_idempotency_keys.
    """

    scope = models.CharField(max_length=40, help_text="token:<id> or user:<id>.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotent_request_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.scope}, key {self.key[:20]})"


class StaffSession(AbstractBaseSession):
    """Django's database session with the signed-in user's id in a column of its own,
    so a request reads its session, its user and the user's permissions in one query
    (clinic/sessions.py) instead of three or four; a poll answered 304 then costs that
    query and its marker's. The id is also in the session's data, where Django's auth
    reads it; the column is written from there on every save."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        verbose_name = "session"

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        from .sessions import SessionStore

        return SessionStore


class StaffProfile(models.Model):
    """What a staff user keeps between sign-ins: the language of their pages (empty:
    the browser's, else the clinic's). Made when first needed (clinic.languages)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True, default=""
    )

    class Meta:
        verbose_name = _("staff profile")

    def __str__(self) -> str:
        return str(self.user)
