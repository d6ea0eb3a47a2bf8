"""The waitlist hears of freed time: a cancellation, an appointment moved away, the
doctor's time off removed. The refill runs once the change has committed (a
rolled-back cancellation frees nothing), in its own transaction; should it fail, the
change stands and the failure is logged."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from doctors.models import Doctor, TimeOff
from scheduling import signals as scheduling
from scheduling.models import Appointment

from .waitlist import refill


def _refill_on_commit(doctor: Doctor, starts_at: datetime, ends_at: datetime) -> None:
    transaction.on_commit(
        partial(refill, doctor=doctor, starts_at=starts_at, ends_at=ends_at), robust=True
    )


@receiver(scheduling.appointment_cancelled)
def refill_cancelled(appointment: Appointment, **kwargs) -> None:
    _refill_on_commit(appointment.doctor, appointment.starts_at, appointment.ends_at)


@receiver(scheduling.appointment_rescheduled)
def refill_moved_away(
    appointment: Appointment,
    previous_starts_at: datetime,
    previous_ends_at: datetime,
    previous_doctor: Doctor | None = None,
    **kwargs,
) -> None:
    _refill_on_commit(previous_doctor or appointment.doctor, previous_starts_at, previous_ends_at)


@receiver(post_delete, sender=TimeOff)
def refill_time_off_removed(instance: TimeOff, **kwargs) -> None:
    _refill_on_commit(instance.doctor, instance.starts_at, instance.ends_at)
