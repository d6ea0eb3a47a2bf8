"""The clinic's calendar: its time zone, and the range of dates anyone keeps a
schedule for. Every app reads days and times through these, so "today" and "which
day" mean the same thing on every page, message and endpoint."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import dateformat, formats, timezone

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


def time_of_day_format() -> str:
    """The clinic's format of a time of day (settings.CLINIC_TIME_FORMAT): "H:i"
    (14:30) or "g:i A" (2:30 PM), in Django's date format syntax. Every page shows
    times through it (the `clock` and `stamp` template filters)."""
    return "g:i A" if settings.CLINIC_TIME_FORMAT == "12h" else "H:i"


def format_time_of_day(value: datetime | time) -> str:
    """`value`'s time of day in the clinic's format; an aware datetime in the
    clinic's zone."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if settings.CLINIC_TIME_FORMAT != "12h":
        # Without Django's formatter, which a busy day view calls hundreds of times.
        return f"{value:%H:%M}"
    return dateformat.time_format(value, time_of_day_format())


def format_day(value: datetime | date, day_format: str = "D j M") -> str:
    """`value`'s day in Django's date format syntax ("D j M": Tue 1 Dec), with the
    names of the active language; an aware datetime in the clinic's zone. With
    format_time_of_day for the time, a message says a moment as pages do."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, day_format)
