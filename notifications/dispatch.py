"""The dispatcher: claims due messages and hands each to its channel.

A django-q task can run twice (DESIGN.md section 4), so the queue is not what
guarantees one send: the row is. A claim moves due rows from `pending` to
`sending` in one locked transaction (`skip_locked` on PostgreSQL, so workers
share the work; SQLite's IMMEDIATE transactions serialize claims), and the
outcome is written only while the row still carries that claim.

At-least-once window: a worker that dies after the provider accepted a message but
before its outcome is written leaves the row in `sending`; after
NOTIFICATIONS_SENDING_TIMEOUT it is claimed again and sent a second time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from scheduling.models import Status as AppointmentStatus

from .channels import get_channel
from .exceptions import NotSent, PermanentFailure, Skipped, TransientFailure
from .models import Notification, Status
from .timing import outside_quiet_hours, retry_delay

logger = logging.getLogger(__name__)

BATCH_SIZE = 100

# Messages that only make sense before the appointment, while it still stands.
REMINDER_TEMPLATES = frozenset({"appointment_reminder"})


@dataclass
class DispatchReport:
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        status = str(status)  # The value, not the enum member, in logs and results.
        self.outcomes[status] = self.outcomes.get(status, 0) + 1

    @property
    def handled(self) -> int:
        return sum(self.outcomes.values())


def dispatch_due(*, time_budget: float | None = None) -> DispatchReport:
    """Send every message that is due, batch by batch, until none is left or the
    time budget (by default half the worker's task timeout) is spent."""
    budget = settings.Q_CLUSTER["timeout"] / 2 if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    report = DispatchReport()
    while time.monotonic() < deadline:
        batch = claim_due()
        if not batch:
            break
        for notification in batch:
            report.count(deliver(notification))
    if report.handled:
        logger.info("Dispatched notifications: %s", report.outcomes)
    return report


def claim_due(*, size: int = BATCH_SIZE, now: datetime | None = None) -> list[Notification]:
    """Claim up to `size` due messages for this worker: pending ones whose time has
    come, and ones left in `sending` longer than the timeout by a dead worker."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT)
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(
                Q(status=Status.PENDING, next_attempt_at__lte=now)
                | Q(status=Status.SENDING, claimed_at__lt=stale)
            )
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:size]
        )
        Notification.objects.filter(pk__in=ids).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
    return list(
        Notification.objects.filter(pk__in=ids)
        .select_related("patient", "user", "appointment")
        .order_by("next_attempt_at", "pk")
    )


def deliver(notification: Notification) -> str:
    """Send one claimed message and record the outcome; returns the new status."""
    channel = get_channel(notification.channel)
    now = timezone.now()
    quiet = channel.respects_quiet_hours and not notification.urgent
    if quiet and (morning := outside_quiet_hours(now)) != now:
        return _finish(
            notification, Status.PENDING, next_attempt_at=morning, attempts=F("attempts") - 1
        )
    try:
        _check_still_wanted(notification, now)
        address = channel.address(notification)
        provider_message_id = channel.send(notification, address)
    except Skipped as reason:
        return _finish(notification, Status.SKIPPED, last_error=reason.reason)
    except PermanentFailure as reason:
        return _finish(notification, Status.FAILED, last_error=reason.reason)
    except TransientFailure as reason:
        return _retry_later(notification, reason, now)
    except Exception as error:  # A bug or an unforeseen error: retried, then failed.
        logger.exception(
            "Channel %s failed on notification %s", notification.channel, notification.pk
        )
        return _retry_later(notification, NotSent(f"Unexpected error: {error!r}"), now)
    return _finish(
        notification,
        Status.SENT,
        address=address,
        provider_message_id=provider_message_id,
        sent_at=timezone.now(),
        last_error="",
    )


def _check_still_wanted(notification: Notification, now: datetime) -> None:
    appointment = notification.appointment
    if notification.template in REMINDER_TEMPLATES and appointment is not None:
        if appointment.status != AppointmentStatus.CONFIRMED:
            raise Skipped(f"The appointment is {appointment.get_status_display().lower()}.")
        if appointment.starts_at <= now:
            raise Skipped("The appointment has already started.")


def _retry_later(notification: Notification, reason: NotSent, now: datetime) -> str:
    if notification.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        return _finish(
            notification,
            Status.FAILED,
            last_error=f"{reason.reason} Gave up after {notification.attempts} attempts.",
        )
    return _finish(
        notification,
        Status.PENDING,
        next_attempt_at=now + retry_delay(notification.attempts),
        last_error=reason.reason,
    )


def _finish(notification: Notification, status: str, **fields) -> str:
    """Write the outcome, unless another worker has claimed the row since or the
    provider's delivery report got there first (services.record_delivery_status)."""
    written = Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, claimed_at=notification.claimed_at
    ).update(status=status, updated_at=timezone.now(), **fields)
    if not written:
        logger.warning(
            "Notification %s was claimed again, or its delivery report came first, "
            "before its outcome was written",
            notification.pk,
        )
    return status
