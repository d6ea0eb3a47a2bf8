"""Waitlist holds (DESIGN.md section 9): a freed time kept for one patient's offer as
an appointment in status `held`, so that the overlap constraints refuse every other
booking of that time until the offer is taken or lapses.

The waitlist (online.waitlist) decides who is offered which time and for how long;
these functions only change the appointment, under the same locks and checks as a
booking, and write its history. A hold sends no domain signal until it is taken:
then it is a booking like any other (`appointment_booked`, via the waitlist), and
the patient is texted as for any booking.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doctors.models import Doctor
from patients.models import Patient

from . import signals
from .availability import check_bookable
from .exceptions import InvalidTransition, Unavailable
from .lifecycle import record_change, take_step
from .models import Appointment, AppointmentChange, Service, Status
from .overlaps import overlap_from_race
from .services import clear_to_book

Action = AppointmentChange.Action
Via = AppointmentChange.Via


def hold_time(
    *,
    service: Service,
    doctor: Doctor,
    patient: Patient,
    starts_at: datetime,
    ends_at: datetime,
    until: datetime,
) -> Appointment:
    """Hold [starts_at, ends_at) with `doctor` for `patient`'s offer until `until`.
    Every booking rule applies; a time taken meanwhile raises `Overlap`."""
    booking: dict[str, Any] = {
        "doctor": doctor,
        "patient": patient,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    try:
        with transaction.atomic():
            clear_to_book(service=service, **booking)
            hold = Appointment.objects.create(
                service=service, status=Status.HELD, held_until=until, **booking
            )
            record_change(hold, Action.HELD, by=None, from_status="", via=Via.WAITLIST)
    except (IntegrityError, OperationalError) as error:
        raise overlap_from_race(error, **booking) from error
    return hold


def release_hold(*, hold: Appointment) -> Appointment:
    """Let the held time go: nobody (more) on the waitlist takes it."""
    current, _change = take_step(
        hold, step="release-hold", action=Action.HOLD_RELEASED, by=None, via=Via.WAITLIST
    )
    return current


def check_held_time(hold: Appointment) -> None:
    """Refuse a held time that can no longer be booked: the doctor or the service
    no longer active, or the doctor's hours or time off changed since it was held."""
    # check_bookable refuses an inactive doctor too.
    if not hold.service.is_active:
        raise Unavailable(_("%(service)s is no longer offered.") % {"service": hold.service.name})
    check_bookable(doctor=hold.doctor, starts_at=hold.starts_at, ends_at=hold.ends_at)


def take_hold(*, hold: Appointment, via: str) -> Appointment:
    """The patient accepted the offer: the hold becomes their booked appointment,
    announced as any booking is. Refused once the hold has lapsed, or when its time
    can no longer be booked (check_held_time)."""
    with transaction.atomic():
        current, _change = take_step(
            hold,
            step="take-hold",
            action=Action.HOLD_TAKEN,
            by=None,
            via=via,
            check=_not_lapsed,
            held_until=None,
        )
        signals.appointment_booked.send(Appointment, appointment=current, by=None, via=via)
    return current


def _not_lapsed(hold: Appointment) -> None:
    if hold.held_until is not None and hold.held_until <= timezone.now():
        raise InvalidTransition(_("The offer of this time has lapsed."))
    check_held_time(hold)
