"""The clinic's calendar: its time zone, and the range of dates anyone keeps a
schedule for. Every app reads days and times through these, so "today" and "which
day" mean the same thing on every page, message and endpoint."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

# Bookings are made for the near future; far-off dates are typing mistakes (and
# dates near year 9999 cannot be turned into a day's bounds at all).
BOOKABLE_YEARS = 2


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.CLINIC_TIME_ZONE)


def validate_schedule_date(value: date) -> None:
    """Refuse a date outside last year to BOOKABLE_YEARS from now (clinic days)."""
    today = timezone.localdate()
    if not today - timedelta(days=366) <= value <= today + timedelta(days=366 * BOOKABLE_YEARS):
        raise ValidationError(
            f"Choose a date between last year and {BOOKABLE_YEARS} years from now.",
            code="date_range",
        )
