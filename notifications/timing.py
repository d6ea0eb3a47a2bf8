"""When a message may go out: quiet hours in the clinic's zone, and retry backoff."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from clinic.kernel.quiet_hours import outside_quiet_hours, quiet_hours

__all__ = ["outside_quiet_hours", "quiet_hours", "retry_delay"]


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: doubling each time."""
    return timedelta(seconds=settings.NOTIFICATIONS_RETRY_SECONDS * 2 ** max(attempts - 1, 0))
