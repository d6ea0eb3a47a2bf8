"""Use cases of the outbox: queue a message, cancel or retry one, read the inbox,
and record what the provider reports. Rules (rules.py), pages, webhooks and the
admin all go through these."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.tasks import queue_with_the_change
from clinic.kernel.users import User
from patients.models import Patient
from scheduling.models import Appointment
from sessions_app.models import Session

from .channels import channel_class
from .exceptions import OutboxError
from .messages import render_message
from .models import Channel, Notification, NotificationQuerySet, Status
from .tasks import DISPATCH_TASK
from .timing import outside_quiet_hours

logger = logging.getLogger(__name__)


def queue_message(
    *,
    key: str,
    template: str,
    channel: str,
    patient: Patient | None = None,
    user: User | None = None,
    context: dict,
    send_after: datetime | None = None,
    appointment: Appointment | None = None,
    session: Session | None = None,
    link: str = "",
    subject: str = "",
    revive: bool = False,
    fresh: bool = False,
    phone: str = "",
    urgent: bool = False,
) -> Notification:
    """Put one message in the outbox, once per `key`.

    A second call with the same key changes nothing and returns the first row,
    unless `revive` is set and that row was cancelled: then it is queued again
    with the new text and time (a reminder moved back to its first time).
    Call inside the transaction of the change; the worker is woken on commit.

    `fresh` says the key names a row made in this very transaction (the booking
    of a new appointment), so no message can have it yet: the row is written in
    one INSERT that a row with the key would leave unchanged (ON CONFLICT DO
    NOTHING), without a savepoint, and the row returned is not read back (no id).

    `phone` addresses an SMS to a number that belongs to no patient yet (a phone
    being verified); `urgent` sends it at once, whatever the quiet hours.
    """
    send_after = send_after or timezone.now()
    fields = {
        "template": template,
        "channel": channel,
        "patient": patient,
        "user": user,
        "body": render_message(template, **context),
        "subject": subject,
        "link": link,
        "appointment": appointment,
        "session": session,
        "status": Status.PENDING,
        "send_after": send_after,
        "next_attempt_at": send_after if urgent else _first_attempt(channel, send_after),
        "urgent": urgent,
        "address": phone,
        "attempts": 0,
        "last_error": "",
    }
    if fresh:
        notification = Notification(idempotency_key=key, **fields)
        Notification.objects.bulk_create([notification], ignore_conflicts=True)
        created = True
    else:
        notification, created = _insert_once(key, fields)
    if not created and revive and notification.status == Status.CANCELLED:
        for name, value in fields.items():
            setattr(notification, name, value)
        notification.save()
        created = True
    if created and notification.next_attempt_at <= timezone.now():
        wake_worker()
    return notification


def _insert_once(key: str, fields: dict) -> tuple[Notification, bool]:
    """The outbox row of `key`, inserted now (True) or already there (False).

    Nearly every key is new (it names the change that sends it), so the insert is
    tried first: one INSERT in a savepoint, rather than get_or_create's look-up
    and its two savepoints. The unique key refuses a second row; then the first
    row is the answer."""
    try:
        with transaction.atomic():
            return Notification.objects.create(idempotency_key=key, **fields), True
    except IntegrityError:
        existing = Notification.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise  # Not the key: another constraint, a bug to see.
        return existing, False


def _first_attempt(channel: str, send_after: datetime) -> datetime:
    if channel_class(channel).respects_quiet_hours:
        return outside_quiet_hours(send_after)
    return send_after


def cancel_pending(queryset: NotificationQuerySet) -> int:
    """Cancel the messages of `queryset` still waiting to go; returns how many."""
    return queryset.cancellable().update(status=Status.CANCELLED, updated_at=timezone.now())


# A message the worker has taken (it may be on its way) or delivered: too late to
# cancel, so the recipient may have seen it.
GONE_OUT = frozenset({Status.SENDING, Status.SENT, Status.DELIVERED})


def withdraw_alerts(queryset: NotificationQuerySet) -> bool:
    """Withdraw staff alerts about something that did not happen after all: those
    still waiting are cancelled, and those already in an inbox are marked read, so
    they leave the live alerts (the inbox keeps them). Returns whether any had gone
    out, and so may have been seen: then the recipient should be told."""
    cancel_pending(queryset)
    seen = queryset.filter(status__in=GONE_OUT)
    gone_out = seen.exists()
    if gone_out:
        seen.filter(channel=Channel.IN_APP, read_at__isnull=True).update(read_at=timezone.now())
    return gone_out


def wake_worker() -> None:
    """Ask the worker to dispatch now rather than at its next scheduled round, once
    the current transaction commits (clinic/kernel/tasks.py; if it cannot be asked,
    the round sends the message)."""
    queue_with_the_change(DISPATCH_TASK, task_name="dispatch notifications")


# --- Staff actions ---------------------------------------------------------------


def retry_notification(*, notification: Notification, by: User | None) -> Notification:
    """Send a failed message again, with a fresh count of attempts."""
    with transaction.atomic():
        current = Notification.objects.select_for_update().get(pk=notification.pk)
        if not current.can_retry:
            raise OutboxError(
                _("Only a failed message can be retried; this one is %(status)s.")
                % {"status": current.get_status_display().lower()}
            )
        now = timezone.now()
        current.status = Status.PENDING
        current.attempts = 0
        current.next_attempt_at = _first_attempt(current.channel, now)
        current.claimed_at = None
        current.save()
        wake_worker()
    logger.info("Notification %s queued again by user %s", current.pk, getattr(by, "pk", None))
    return current


def cancel_notification(*, notification: Notification, by: User | None) -> Notification:
    """Stop a message that has not gone out yet."""
    with transaction.atomic():
        current = Notification.objects.select_for_update().get(pk=notification.pk)
        if not current.can_cancel:
            raise OutboxError(
                _("Only a pending message can be cancelled; this one is %(status)s.")
                % {"status": current.get_status_display().lower()}
            )
        current.status = Status.CANCELLED
        current.last_error = "Cancelled by staff."
        current.save()
    logger.info("Notification %s cancelled by user %s", current.pk, getattr(by, "pk", None))
    return current


def mark_read(*, notification: Notification, user: User) -> None:
    Notification.objects.inbox_of(user).unread().filter(pk=notification.pk).update(
        read_at=timezone.now()
    )


def mark_all_read(*, user: User) -> int:
    return Notification.objects.inbox_of(user).unread().update(read_at=timezone.now())


# --- What the provider reports ---------------------------------------------------

# Twilio's message statuses that say the message reached the phone, or never will.
DELIVERED_STATUSES = frozenset({"delivered", "read"})
UNDELIVERED_STATUSES = frozenset({"undelivered", "failed"})


def record_delivery_status(
    *,
    provider_message_id: str,
    provider_status: str,
    error_code: str = "",
    notification_id: int | None = None,
    address: str = "",
) -> bool:
    """Apply a provider's status callback to its message. Only moves forward: a late
    "sent" never undoes "delivered". Returns whether a row changed.

    A report can outrun the dispatcher, which records the message's sid only once
    the provider's answer is back. When the report names the message
    (`notification_id`) and it is still being sent with no sid, the report is its
    outcome; the dispatcher, finding the row out of its claim, leaves it be."""
    if not provider_message_id:
        return False  # Would match every message sent without a provider id.
    now = timezone.now()
    if provider_status in DELIVERED_STATUSES:
        outcome = {"status": Status.DELIVERED, "delivered_at": now}
    elif provider_status in UNDELIVERED_STATUSES:
        reason = f"The carrier reported the message {provider_status}"
        if error_code:
            reason += f" (Twilio error {error_code})"
        outcome = {"status": Status.FAILED, "last_error": reason + "."}
    else:  # queued, sending, sent, accepted, scheduled: nothing new to us.
        return False
    changed = Notification.objects.filter(
        provider_message_id=provider_message_id, status=Status.SENT
    ).update(updated_at=now, **outcome)
    if not changed and notification_id is not None:
        early = {"address": address} if address else {}
        changed = Notification.objects.filter(
            pk=notification_id, status=Status.SENDING, provider_message_id=""
        ).update(
            provider_message_id=provider_message_id,
            sent_at=now,
            updated_at=now,
            **({"last_error": ""} | outcome | early),
        )
    return bool(changed)
