"""Quiet hours (settings.NOTIFICATIONS_QUIET_HOURS), when the clinic texts no patient:
in the kernel because the outbox holds messages back by them and the waitlist holds
a time for an offer from when its text can go."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .dates import clinic_zone


def quiet_hours() -> tuple[time, time] | None:
    """The (start, end) of quiet hours from settings, or None when they are off."""
    spec = settings.NOTIFICATIONS_QUIET_HOURS.strip()
    if not spec:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in spec.split("-"))
    except ValueError as error:
        raise ImproperlyConfigured(
            f"NOTIFICATIONS_QUIET_HOURS must look like 21:00-08:00, not {spec!r}."
        ) from error
    return start, end


def outside_quiet_hours(moment: datetime) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (clinic time)."""
    hours = quiet_hours()
    if hours is None:
        return moment
    start, end = hours
    local = moment.astimezone(clinic_zone())
    clock = local.time()
    if start <= end:
        quiet = start <= clock < end
        end_day = local.date()
    else:  # Wraps past midnight, e.g. 21:00-08:00.
        quiet = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not quiet:
        return moment
    # Built from the wall clock, so the morning is right across a DST change.
    return datetime.combine(end_day, end, tzinfo=clinic_zone())
