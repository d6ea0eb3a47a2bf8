"""When a doctor can be booked: the rules of DESIGN.md section 2 that depend on the
doctor's timetable and the clock, shared by the booking services and the free-slot
search so both always agree.

Times are computed as aware datetimes: a working-hours range is turned into the two
instants it starts and ends on a given day in the clinic's zone, so a day on which
the clocks change still has the right hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from clinic.kernel.dates import clinic_zone
from doctors.models import Doctor, TimeOff, WorkingHours

from .constraints import (
    MAX_APPOINTMENT_LENGTH,
    MAX_APPOINTMENT_MINUTES,
    MIN_APPOINTMENT_LENGTH,
    MIN_APPOINTMENT_MINUTES,
)
from .exceptions import InvalidTimes, Unavailable

if TYPE_CHECKING:
    from .models import Service


@dataclass(frozen=True)
class Window:
    """A stretch of time [starts_at, ends_at), in UTC."""

    starts_at: datetime
    ends_at: datetime

    def contains(self, starts_at: datetime, ends_at: datetime) -> bool:
        return self.starts_at <= starts_at and ends_at <= self.ends_at

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return starts_at < self.ends_at and self.starts_at < ends_at


def local_day(moment: datetime) -> date:
    return moment.astimezone(clinic_zone()).date()


def day_bounds(day: date) -> Window:
    """The instants a calendar day starts and ends in the clinic's zone (23 or 25
    hours apart on the days the clocks change)."""
    zone = clinic_zone()
    starts = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return Window(starts.astimezone(UTC), ends.astimezone(UTC))


def working_windows(day: date, hours: list[WorkingHours]) -> list[Window]:
    """The doctor's working windows on `day`, from the weekly ranges for its weekday."""
    zone = clinic_zone()
    return [
        Window(
            datetime.combine(day, item.starts, tzinfo=zone).astimezone(UTC),
            datetime.combine(day, item.ends, tzinfo=zone).astimezone(UTC),
        )
        for item in hours
        if item.weekday == day.weekday()
    ]


def earliest_start(now: datetime | None = None) -> datetime:
    """The earliest start a booking may have: now, less a grace for walk-ins."""
    now = now or timezone.now()
    return now - timedelta(minutes=settings.SCHEDULING_WALK_IN_GRACE_MINUTES)


def require_aware(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise InvalidTimes("Times must carry a time zone (an offset such as +01:00).")
    return moment.astimezone(UTC)


def end_of(starts_at: datetime, duration: timedelta) -> datetime:
    """The end of an appointment, in absolute time: 30 minutes are 30 minutes even
    across a change of the clocks."""
    if duration <= timedelta(0):
        raise InvalidTimes(_("An appointment must end after it starts."))
    if duration < MIN_APPOINTMENT_LENGTH:
        raise InvalidTimes(
            _("An appointment lasts at least %(minutes)s minutes.")
            % {"minutes": MIN_APPOINTMENT_MINUTES}
        )
    if duration > MAX_APPOINTMENT_LENGTH:
        raise InvalidTimes(
            _("An appointment lasts at most %(minutes)s minutes.")
            % {"minutes": MAX_APPOINTMENT_MINUTES}
        )
    return starts_at.astimezone(UTC) + duration


def check_bookable(
    *,
    doctor: Doctor,
    starts_at: datetime,
    ends_at: datetime,
    hours: list[WorkingHours] | None = None,
    time_off_checked: bool = False,
) -> None:
    """Refuse a time the doctor cannot take: inactive doctor, in the past, outside
    the working hours of that day, or during time off. A caller that has just read
    the day's `hours`, or seen there is no time off (`time_off_checked`), passes
    them on rather than have them read again."""
    if not doctor.is_active:
        raise Unavailable(_("%(doctor)s no longer takes appointments.") % {"doctor": doctor})
    if starts_at < earliest_start():
        raise Unavailable(_("An appointment cannot start in the past."))
    zone = clinic_zone()
    local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    day = local_start.date()
    if hours is None:
        hours = list(WorkingHours.objects.filter(doctor=doctor, weekday=day.weekday()))
    if not any(window.contains(starts_at, ends_at) for window in working_windows(day, hours)):
        when = {
            "doctor": doctor,
            "weekday": date_format(local_start, "l"),
            "start": f"{local_start:%H:%M}",
            "end": f"{local_end:%H:%M}",
        }
        if not hours:
            raise Unavailable(
                _("%(doctor)s does not work %(weekday)s %(start)s–%(end)s (no hours that day).")
                % when
            )
        ranges = ", ".join(f"{item.starts:%H:%M}–{item.ends:%H:%M}" for item in hours)
        raise Unavailable(
            _(
                "%(doctor)s does not work %(weekday)s %(start)s–%(end)s "
                "(hours that day: %(ranges)s)."
            )
            % {**when, "ranges": ranges}
        )
    if time_off_checked:
        return
    leave = (
        TimeOff.objects.filter(doctor=doctor, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .order_by("starts_at")
        .first()
    )
    if leave:
        until = timezone.localtime(leave.ends_at, zone)
        away = {"doctor": doctor, "until": f"{until:%Y-%m-%d %H:%M}", "reason": leave.reason}
        if leave.reason:
            raise Unavailable(_("%(doctor)s is away until %(until)s (%(reason)s).") % away)
        raise Unavailable(_("%(doctor)s is away until %(until)s.") % away)


def check_offered(*, service: Service, doctor: Doctor) -> None:
    """Refuse a doctor who does not offer the service (one query)."""
    if not service.offering_doctors().filter(pk=doctor.pk).exists():
        raise Unavailable(
            _("%(doctor)s does not offer %(service)s.")
            % {"doctor": doctor, "service": service.name}
        )
