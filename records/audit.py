"""The access audit: every read and write of clinical content leaves a row saying
who, what, when and from where (DESIGN.md section 6)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db import models

from clinic.kernel.users import User
from patients.models import Patient

from .models import AccessAction, AccessLog


def log_access(
    *,
    user: User | AnonymousUser | None,
    patient: Patient,
    obj: models.Model | None,
    action: AccessAction | str,
    ip: str | None = None,
    description: str = "",
    reason: str = "",
) -> AccessLog:
    """Append one entry to the access log.

    Called by the records' services and selectors inside their own transaction, so
    a refused or rolled-back write leaves no entry claiming it happened. An
    anonymous user is stored as nobody (the system). `reason` is an emergency
    access's stated reason."""
    if user is not None and not user.is_authenticated:
        user = None
    return AccessLog.objects.create(
        user=user,
        patient=patient,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        description=description[:200],
        ip_address=ip or None,
        reason=reason[:300],
    )
