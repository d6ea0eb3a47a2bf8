"""Times on every page in one format, the clinic's (settings.CLINIC_TIME_FORMAT,
24 h or 12 h). Built into every template (settings.TEMPLATES' builtins):
`{{ appointment.starts_at|clock }}` gives "14:30" or "2:30 PM", and
`{{ note.signed_at|stamp }}` the date and the time, "2026-11-30 14:30"."""

from __future__ import annotations

from datetime import datetime, time

from django import template
from django.utils import dateformat, timezone

from clinic.kernel.dates import format_time_of_day

register = template.Library()


@register.filter
def clock(value: datetime | time | None) -> str:
    """The time of day of `value` (a datetime, in the clinic's zone, or a time)."""
    if value in (None, ""):
        return ""
    return format_time_of_day(value)


@register.filter
def stamp(value: datetime | None) -> str:
    """The date (Y-m-d) and the time of day of `value`, in the clinic's zone."""
    if value in (None, ""):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{dateformat.format(local, 'Y-m-d')} {format_time_of_day(local)}"


@register.simple_tag
def now_stamp() -> str:
    """This moment as `stamp` gives it: `{% now_stamp as printed %}`."""
    return stamp(timezone.now())
