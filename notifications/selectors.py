"""Reads of the outbox and of a staff user's inbox, shaped for the pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import router
from django.db.models import Count, QuerySet, Window

from clinic.kernel.baked import Baked
from clinic.kernel.dates import clinic_zone
from clinic.kernel.users import User

from .models import Notification, NotificationQuerySet

# How many unread alerts the live region shows at once; the inbox has the rest.
LIVE_ALERTS = 5


def outbox(
    *,
    status: str = "",
    channel: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Notification]:
    """Every message, newest first, narrowed by status, channel and the clinic-time
    days of `send_after` (both ends included). Loads the recipients and appointments
    with the rows, so a page of them costs one query."""
    messages = Notification.objects.select_related("patient", "user", "appointment").order_by(
        "-send_after", "-pk"
    )
    if status:
        messages = messages.filter(status=status)
    if channel:
        messages = messages.filter(channel=channel)
    if date_from:
        messages = messages.filter(send_after__gte=_start_of(date_from))
    if date_to:
        messages = messages.filter(send_after__lt=_start_of(date_to + timedelta(days=1)))
    return messages


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clinic_zone())


def inbox(*, user: User) -> NotificationQuerySet:
    """The user's in-app messages, newest first."""
    return Notification.objects.inbox_of(user).order_by("-send_after", "-pk")


def unread_alerts(*, user: User, limit: int = LIVE_ALERTS) -> list[Notification]:
    """The newest unread in-app messages of `user`, for the live region."""
    return list(inbox(user=user).unread()[:limit])


# The live fragment's marker, baked (clinic/kernel/baked.py): every open screen asks
# for it every 10 seconds.
_LIVE_MARKER = Baked(
    lambda *, user_id: (
        Notification.objects.inbox_of(user_id)
        .unread()
        .order_by("-send_after", "-pk")
        .annotate(unread=Window(Count("pk")))
        .values_list("unread", "pk", "send_after", "body")[:LIVE_ALERTS]
    ),
    user_id=int,
)


def live_marker(*, user: User) -> tuple[object, ...]:
    """What the live fragment (notifications/partials/live.html) shows, column by
    column, for its poll's ETag (clinic.kernel.polls): the bell's unread count and
    the newest unread alerts. One small query, no model built: the count is a window
    over every unread row, computed before the limit."""
    shown = _LIVE_MARKER.run(user_id=user.pk, using=router.db_for_read(Notification))
    return (shown[0][0] if shown else 0, tuple(row[1:] for row in shown))


def unread_count(*, user: User) -> int:
    return Notification.objects.inbox_of(user).unread().count()
